package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults, as in Vault Agent.
const (
	DefaultAddress               = "https://127.0.0.1:8200"
	DefaultNumRetries            = 12
	DefaultMinBackoff            = time.Second
	DefaultMaxBackoff            = 5 * time.Minute
	DefaultSinkMode              = 0o640
	DefaultTemplatePerms         = 0o644
	DefaultCommandTimeout        = 30 * time.Second
	DefaultStaticRenderInterval  = 5 * time.Minute
	DefaultMaxConnectionsPerHost = 10
	DefaultLeaseRenewalThreshold = 0.9
)

func applyDefaults(cfg *Config) {
	if cfg.Vault.Address == "" {
		cfg.Vault.Address = DefaultAddress
	}
	if cfg.Vault.NumRetries < 0 {
		cfg.Vault.NumRetries = DefaultNumRetries
	}
	if a := cfg.AutoAuth; a != nil && a.Method != nil {
		m := a.Method
		if m.MountPath == "" {
			m.MountPath = "auth/" + m.Type
		}
		if m.MinBackoff == 0 {
			m.MinBackoff = DefaultMinBackoff
		}
		if m.MaxBackoff == 0 {
			m.MaxBackoff = DefaultMaxBackoff
		}
		for _, s := range a.Sinks {
			if s.Mode == 0 {
				s.Mode = DefaultSinkMode
			}
		}
	}
	for _, t := range cfg.Templates {
		if t.Perms == 0 {
			t.Perms = DefaultTemplatePerms
		}
		if t.CommandTimeout == 0 {
			t.CommandTimeout = DefaultCommandTimeout
		}
	}
	tc := &cfg.TemplateConfig
	if tc.StaticSecretRenderInterval == 0 {
		tc.StaticSecretRenderInterval = DefaultStaticRenderInterval
	}
	if tc.MaxConnectionsPerHost == 0 {
		tc.MaxConnectionsPerHost = DefaultMaxConnectionsPerHost
	}
	if tc.LeaseRenewalThreshold == 0 {
		tc.LeaseRenewalThreshold = DefaultLeaseRenewalThreshold
	}
	if e := cfg.Exec; e != nil {
		if e.RestartOnSecretChanges == "" {
			e.RestartOnSecretChanges = "always"
		}
		if e.RestartStopSignal == "" {
			e.RestartStopSignal = "SIGTERM"
		}
		if e.RestartKillTimeout == 0 {
			e.RestartKillTimeout = 30 * time.Second
		}
		if e.Debounce == 0 {
			e.Debounce = 2 * time.Second
		}
	}
}

// validate checks what no single block can check alone.
func validate(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	errAt := func(r *hcl.Range, summary, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: r})
	}
	if u, err := url.Parse(cfg.Vault.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "unix") || (u.Host == "" && u.Scheme != "unix") {
		errAt(nil, "Invalid Vault address", "vault address %q must be a URL such as https://vault.example.com:8200 (from vault.address, VAULT_ADDR or BAO_ADDR).", cfg.Vault.Address)
	}
	if (cfg.Vault.ClientCert == "") != (cfg.Vault.ClientKey == "") {
		errAt(nil, "Conflicting options", "vault: client_cert and client_key (or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY) must be set together.")
	}
	if a := cfg.AutoAuth; a != nil && a.Method != nil {
		m := a.Method
		if m.MinBackoff > m.MaxBackoff {
			errAt(m.Range.Ptr(), "Invalid value", "method %q: min_backoff (%s) is greater than max_backoff (%s).", m.Type, m.MinBackoff, m.MaxBackoff)
		}
		if m.Type == "cert" && m.Cert != nil && m.Cert.ClientCert == "" && cfg.Vault.ClientCert == "" {
			errAt(m.Range.Ptr(), "Missing required argument", "method \"cert\": set client_cert and client_key in its config or in the vault block.")
		}
		paths := map[string]*Sink{}
		for _, s := range a.Sinks {
			if s.Path == "" {
				continue
			}
			abs, _ := filepath.Abs(s.Path)
			if prev, dup := paths[abs]; dup {
				errAt(s.Range.Ptr(), "Conflicting options", "sink path %s is also used by the sink at %s.", s.Path, pos(prev.Range))
			}
			paths[abs] = s
		}
	}
	if cfg.AutoAuth == nil && cfg.Token == "" && !(len(cfg.Templates) == 0 && cfg.Exec == nil) {
		errAt(nil, "Missing auto_auth", "there is no auto_auth block and no VAULT_TOKEN (or BAO_TOKEN) in the environment: rotor has no way to log in.")
	}
	dests := map[string]*Template{}
	for _, t := range cfg.Templates {
		if t.Destination == "" {
			continue
		}
		abs, _ := filepath.Abs(t.Destination)
		if prev, dup := dests[abs]; dup {
			errAt(t.Range.Ptr(), "Conflicting options", "template destination %s is also written by the template at %s.", t.Destination, pos(prev.Range))
		}
		dests[abs] = t
	}
	names := map[string]*EnvTemplate{}
	for _, e := range cfg.EnvTemplates {
		if prev, dup := names[e.Name]; dup {
			errAt(e.Range.Ptr(), "Duplicate block", "env_template %q is also defined at %s.", e.Name, pos(prev.Range))
		}
		names[e.Name] = e
	}
	if len(cfg.EnvTemplates) > 0 && cfg.Exec == nil {
		errAt(cfg.EnvTemplates[0].Range.Ptr(), "Missing exec", "env_template needs an exec block: the environment is given to the command it runs.")
	}
	if cfg.ExitAfterAuth && cfg.Exec != nil {
		errAt(cfg.Exec.Range.Ptr(), "Conflicting options", "exit_after_auth = true exits once everything is rendered, so an exec block would never run.")
	}
	return diags
}

// Warnings lists things that are not errors now but will fail at run time
// on this machine, such as a template source file that does not exist.
func Warnings(cfg *Config) []string {
	var out []string
	for _, t := range cfg.Templates {
		if t.Source != "" {
			if _, err := os.Stat(t.Source); err != nil {
				out = append(out, fmt.Sprintf("%s: template source %s: %v", pos(t.Range), t.Source, errors.Unwrap(err)))
			}
		}
	}
	return out
}
