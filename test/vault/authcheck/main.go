// Command authcheck runs Vault Agent 1.21's own auto-auth method code once
// and prints the login request it would send, so that rotor's tests can
// compare rotor's request with Vault Agent's against the same credentials
// and fakes (a differential test).
//
//	authcheck METHOD CONFIG.json [MOUNT_PATH [VAULT_ADDR]]
//
// builds the method METHOD with the config map in CONFIG.json (the
// method's `config` block as JSON), mount path MOUNT_PATH (default
// auth/METHOD) and Vault address VAULT_ADDR (default
// http://127.0.0.1:8200; the oci method signs it), calls its Authenticate
// and prints one JSON object: {"path": ..., "header": {...}, "body":
// {...}}. An error is printed as "error: <message>" with exit 1.
//
// Each method has its own file (ldap.go, kerberos.go, ...) holding its
// entry in the methods table and, where needed, a verify mode checking a
// login body with the plugin's own verification code:
//
//	authcheck verify-METHOD ARGS...
//
// The cloud methods (gcp, azure, alicloud) run from a whole agent
// configuration instead:
//
//	authcheck CONFIG.hcl
//
// CONFIG is read with Vault Agent's loader; its auto_auth method is built
// with Vault's constructor for that type (configMethods) and its
// Authenticate is called with a client of the vault block's address.
// Nothing is sent to Vault. The output is {"path": ..., "headers": ...,
// "data": ...}. The method reaches whatever its code reaches (metadata
// services, token endpoints) through the process's environment, so the
// test points HTTP_PROXY, HTTPS_PROXY, SSL_CERT_FILE, GCE_METADATA_HOST and
// the like at its fakes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	agentConfig "github.com/hashicorp/vault/command/agent/config"
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
)

// configMethods are the methods run from a whole configuration
// (authcheck CONFIG.hcl), by type.
var configMethods = map[string]func(*auth.AuthConfig) (auth.AuthMethod, error){
	"alicloud": alicloudMethod,
	"azure":    azureMethod,
	"gcp":      gcpMethod,
}

// methods builds each method from its config, as Vault Agent's
// GetAutoAuthMethodFromConfig does. Per-method files add their entries.
var methods = map[string]func(conf *auth.AuthConfig, vaultAddr string) (auth.AuthMethod, error){}

// verifiers check a login body with a plugin's own code (verify-METHOD).
var verifiers = map[string]func(args []string) error{}

func main() {
	if len(os.Args) == 2 {
		out, err := runConfig(os.Args[1])
		if err != nil {
			fail(err)
		}
		fmt.Println(string(out))
		return
	}
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: authcheck METHOD CONFIG.json [MOUNT_PATH [VAULT_ADDR]] | authcheck verify-METHOD ARGS..."))
	}
	if name, ok := strings.CutPrefix(os.Args[1], "verify-"); ok {
		v, ok := verifiers[name]
		if !ok {
			fail(fmt.Errorf("no verifier for %q", name))
		}
		if err := v(os.Args[2:]); err != nil {
			fail(err)
		}
		fmt.Println("ok")
		return
	}
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: authcheck METHOD CONFIG.json [MOUNT_PATH [VAULT_ADDR]]"))
	}
	name := os.Args[1]
	mount, addr := "auth/"+name, "http://127.0.0.1:8200"
	if len(os.Args) > 3 {
		mount = os.Args[3]
	}
	if len(os.Args) > 4 {
		addr = os.Args[4]
	}
	b, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		fail(fmt.Errorf("config: %v", err))
	}
	build, ok := methods[name]
	if !ok {
		fail(fmt.Errorf("unknown method %q", name))
	}
	// Vault Agent's mount path has no trailing slash (config.go).
	conf := &auth.AuthConfig{Logger: hclog.NewNullLogger(), MountPath: strings.TrimSuffix(mount, "/"), Config: cfg}
	m, err := build(conf, addr)
	if err != nil {
		fail(err)
	}
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		fail(err)
	}
	path, header, body, err := m.Authenticate(context.Background(), client)
	m.Shutdown()
	if err != nil {
		fail(err)
	}
	if header == nil {
		header = http.Header{}
	}
	out, err := json.Marshal(map[string]any{"path": path, "header": header, "body": body})
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Printf("error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	os.Exit(1)
}

// runConfig runs the method of a whole agent configuration (the cloud
// methods' mode).
func runConfig(path string) ([]byte, error) {
	cfg, _, err := agentConfig.LoadConfigCheckDuplicates(path)
	if err != nil {
		return nil, err
	}
	if cfg.AutoAuth == nil || cfg.AutoAuth.Method == nil {
		return nil, errors.New("no auto_auth method")
	}
	m := cfg.AutoAuth.Method
	newMethod, ok := configMethods[m.Type]
	if !ok {
		return nil, fmt.Errorf("authcheck does not run method %q", m.Type)
	}
	method, err := newMethod(&auth.AuthConfig{Logger: hclog.NewNullLogger(), MountPath: m.MountPath, Config: m.Config})
	if err != nil {
		return nil, fmt.Errorf("Error creating %s auth method: %w", m.Type, err)
	}
	defer method.Shutdown()
	c, err := api.NewClient(&api.Config{Address: cfg.Vault.Address})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, h, data, err := method.Authenticate(ctx, c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"path": p, "headers": h, "data": data})
}
