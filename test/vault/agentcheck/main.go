// Command agentcheck prints Vault Agent 1.21's verdict on configuration
// paths (files or directories): "ok" and exit 0, or "error: <message>" and
// exit 1. rotor's differential test compares its own loader against it.
//
// It runs what `vault agent -config ...` runs before it starts anything,
// in the same order (command/agent.go, Run), calling Vault's own code:
//
//  1. loadConfig: LoadConfigCheckDuplicates for each path, merged onto
//     NewConfig() in order, then ValidateConfig.
//  2. newLogger's parsing of log_level, log_format and
//     log_rotate_duration. Opening log_file is left out: it depends on the
//     machine, not the configuration.
//  3. For auto_auth: every sink's type must be "file" (Run's switch), and
//     the auth method's constructor runs for approle, aws, cert, jwt,
//     kubernetes, token_file, gcp, azure, kerberos and cf, which read only
//     their config map (gcp and azure reach their metadata services at
//     login, not here). An aws method of type "iam" is the exception: its
//     constructor fetches AWS credentials (environment, instance metadata),
//     so it is left out. For oci, the checks its constructor makes on the
//     config map before it looks for credentials are repeated (ociConfig).
//     The alicloud and ldap constructors are left out (alicloud's fetches
//     credentials and starts polling; ldap's starts a watcher that may
//     remove the password file). An unknown method type
//     is an error, as GetAutoAuthMethodFromConfig's default case.
//     NewFileSink is left out: it writes a test file at the sink's path.
//  4. The api_proxy/cache enforce_consistency and when_inconsistent checks
//     Run makes before it builds the API proxy.
//
// Left out, as not decided by the configuration alone: the server health
// check, telemetry setup (statsd addresses resolve through DNS), the
// persistent cache, exec's output files and starting the listeners.
//
// The first failing step gives the verdict; its stage ("load", "logging",
// "client", "auth", "sink" or "consistency") is printed on stderr. The
// "client" step is Run's c.Client(): the API client for the address, which
// fails on an address url.Parse refuses.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-secure-stdlib/parseutil"
	"github.com/hashicorp/vault/api"
	agentConfig "github.com/hashicorp/vault/command/agent/config"
	"github.com/hashicorp/vault/command/agentproxyshared"
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/helper/logging"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: agentcheck CONFIG [CONFIG...]")
		os.Exit(2)
	}
	if stage, err := check(os.Args[1:]); err != nil {
		fmt.Printf("error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		fmt.Fprintf(os.Stderr, "stage: %s\n", stage)
		os.Exit(1)
	}
	fmt.Println("ok")
}

func check(paths []string) (string, error) {
	cfg := agentConfig.NewConfig()
	var errs []string
	for _, p := range paths {
		c, _, err := agentConfig.LoadConfigCheckDuplicates(p)
		if err != nil {
			errs = append(errs, fmt.Sprintf("error loading configuration from %s: %v", p, err))
			continue
		}
		cfg = cfg.Merge(c)
	}
	if len(errs) > 0 {
		return "load", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	if err := cfg.ValidateConfig(); err != nil {
		return "load", fmt.Errorf("error validating configuration: %w", err)
	}
	if _, err := logging.ParseLogLevel(cfg.LogLevel); err != nil {
		return "logging", err
	}
	if _, err := logging.ParseLogFormat(cfg.LogFormat); err != nil {
		return "logging", err
	}
	if _, err := parseutil.ParseDurationSecond(cfg.LogRotateDuration); err != nil {
		return "logging", err
	}
	// Run's c.Client(): the API client for the config's address (or
	// VAULT_ADDR), which url.Parse must accept.
	ac := api.DefaultConfig()
	if cfg.Vault != nil && cfg.Vault.Address != "" {
		ac.Address = cfg.Vault.Address
	}
	if _, err := api.NewClient(ac); err != nil {
		return "client", fmt.Errorf("Error fetching client: %w", err)
	}
	if a := cfg.AutoAuth; a != nil {
		for _, s := range a.Sinks {
			if s.Type != "file" {
				return "sink", fmt.Errorf("Unknown sink type %q", s.Type)
			}
		}
		if err := authMethod(a.Method, cfg); err != nil {
			return "auth", err
		}
	}
	if err := consistency(cfg); err != nil {
		return "consistency", err
	}
	return "", nil
}

// configOnly are the methods whose constructors read nothing but their
// config map.
var configOnly = map[string]bool{"approle": true, "aws": true, "cert": true, "jwt": true, "kubernetes": true, "token_file": true,
	"gcp": true, "azure": true, "kerberos": true, "cf": true, "pcf": true}

// known are the types GetAutoAuthMethodFromConfig accepts.
var known = map[string]bool{"alicloud": true, "aws": true, "azure": true, "cert": true, "cf": true, "gcp": true,
	"jwt": true, "kerberos": true, "kubernetes": true, "approle": true, "oci": true, "token_file": true, "pcf": true, "ldap": true}

func authMethod(m *agentConfig.Method, cfg *agentConfig.Config) error {
	if !known[m.Type] {
		return fmt.Errorf("Error creating %s auth method: unknown auth method %q", m.Type, m.Type)
	}
	if m.Type == "oci" {
		return ociConfig(m.Config)
	}
	if !configOnly[m.Type] {
		return nil
	}
	if t, _ := m.Config["type"].(string); m.Type == "aws" && t == "iam" {
		return nil
	}
	addr := ""
	if cfg.Vault != nil {
		addr = cfg.Vault.Address
	}
	conf := &auth.AuthConfig{
		Logger:    hclog.NewNullLogger(),
		MountPath: m.MountPath,
		Config:    m.Config,
	}
	if _, err := agentproxyshared.GetAutoAuthMethodFromConfig(m.Type, conf, addr); err != nil {
		return fmt.Errorf("Error creating %s auth method: %w", m.Type, err)
	}
	return nil
}

// consistency repeats, in rotor's words, the checks Vault Agent's Run makes
// on enforce_consistency and when_inconsistent (they are inline there).
func consistency(cfg *agentConfig.Config) error {
	enforce, when := "never", "fail"
	if p := cfg.APIProxy; p != nil {
		switch p.EnforceConsistency {
		case "always":
			enforce = "always"
		case "never", "":
		default:
			return fmt.Errorf("Unknown api_proxy setting for enforce_consistency: %q", p.EnforceConsistency)
		}
		switch p.WhenInconsistent {
		case "retry", "forward":
			when = p.WhenInconsistent
		case "fail", "":
		default:
			return fmt.Errorf("Unknown api_proxy setting for when_inconsistent: %q", p.WhenInconsistent)
		}
	}
	if c := cfg.Cache; c != nil {
		switch c.EnforceConsistency {
		case "always":
			if enforce != "never" {
				return fmt.Errorf("enforce_consistency configured in both api_proxy and cache blocks")
			}
		case "never", "":
		default:
			return fmt.Errorf("Unknown cache setting for enforce_consistency: %q", c.EnforceConsistency)
		}
		switch c.WhenInconsistent {
		case "retry", "forward":
			if when != "fail" {
				return fmt.Errorf("when_inconsistent configured in both api_proxy and cache blocks")
			}
		case "fail", "":
		default:
			return fmt.Errorf("Unknown cache setting for when_inconsistent: %q", c.WhenInconsistent)
		}
	}
	return nil
}

// ociConfig repeats, in rotor's words, the checks the oci constructor
// (agentproxyshared/auth/oci) makes on its config map before it looks for
// OCI credentials (a key file, or the instance metadata service), which
// agentcheck leaves out as they depend on the machine. Its messages are
// Vault's.
func ociConfig(c map[string]any) error {
	wrap := func(msg string) error { return fmt.Errorf("Error creating oci auth method: %s", msg) }
	if c == nil {
		return wrap("empty config data")
	}
	tr, ok := c["type"]
	if !ok {
		return wrap("missing 'type' value")
	}
	typ, ok := tr.(string)
	if !ok {
		return wrap("could not convert 'type' config value to string")
	}
	rr, ok := c["role"]
	if !ok {
		return wrap("missing 'role' value")
	}
	role, ok := rr.(string)
	if !ok {
		return wrap("could not convert 'role' config value to string")
	}
	if raw, ok := c["credential_poll_interval"]; ok {
		if _, err := parseutil.ParseDurationSecond(raw); err != nil {
			return wrap(fmt.Sprintf("could not parse credential_poll_interval: %v", err))
		}
	}
	switch {
	case role == "":
		return wrap("'role' value is empty")
	case typ == "":
		return wrap("'type' value is empty")
	case typ != "apikey" && typ != "instance":
		return wrap("'type' value is invalid")
	}
	return nil
}
