// Command authcheck runs Vault Agent 1.21's own auto-auth method code once
// and prints the login request it would send, for rotor's differential
// tests of its auth methods:
//
//	authcheck CONFIG.hcl
//
// CONFIG is a Vault Agent configuration, read with Vault Agent's loader;
// its auto_auth method is built with Vault's constructor for that type
// (the methods map: one file per method) and its Authenticate is called
// with a client of the vault block's address. Nothing is sent to Vault.
// The output is one JSON object: {"path": ..., "headers": ..., "data": ...},
// exit 0; or "error: <message>" and exit 1. The method reaches whatever its
// code reaches (metadata services, token endpoints) through the process's
// environment, so the test points HTTP_PROXY, HTTPS_PROXY, SSL_CERT_FILE,
// GCE_METADATA_HOST and the like at its fakes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/api"
	agentConfig "github.com/hashicorp/vault/command/agent/config"
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
)

// methods are the auth methods authcheck can run, by type.
var methods = map[string]func(*auth.AuthConfig) (auth.AuthMethod, error){
	"alicloud": alicloudMethod,
	"azure":    azureMethod,
	"gcp":      gcpMethod,
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: authcheck CONFIG")
		os.Exit(2)
	}
	out, err := run(os.Args[1])
	if err != nil {
		fmt.Printf("error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func run(path string) ([]byte, error) {
	cfg, _, err := agentConfig.LoadConfigCheckDuplicates(path)
	if err != nil {
		return nil, err
	}
	if cfg.AutoAuth == nil || cfg.AutoAuth.Method == nil {
		return nil, errors.New("no auto_auth method")
	}
	m := cfg.AutoAuth.Method
	newMethod, ok := methods[m.Type]
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
