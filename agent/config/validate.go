package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
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
	// Vault Agent's reading of num_retries: unset or 0 is the default, -1
	// turns retries off.
	switch cfg.Vault.NumRetries {
	case -2, 0:
		cfg.Vault.NumRetries = DefaultNumRetries
	case -1:
		cfg.Vault.NumRetries = 0
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
	}
	if a := cfg.AutoAuth; a != nil {
		for _, s := range a.Sinks {
			if s.Mode == 0 {
				s.Mode = DefaultSinkMode
			}
		}
	}
	for _, t := range cfg.Templates {
		// Perms stays 0 when perms is not set: the agent then applies the
		// process umask to DefaultTemplatePerms, where a set perms is exact.
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

// validate checks what no single block can check alone: Vault Agent's
// ValidateConfig and start-up checks first, then rotor's own. rotorExec is
// set for `rotor exec`, whose command line stands for exec and
// env_template blocks. partial is set when decoding found problems: then
// the rules about what the configuration as a whole lacks are skipped, as
// a block that failed to decode would set them off.
func validate(cfg *Config, rotorExec, partial bool, ds *diags) {
	start := Pos{Filename: "command line"}
	if len(cfg.Files) > 0 {
		start = Pos{Filename: cfg.Files[0], Line: 1, Column: 1}
	}
	validateVaultRules(cfg, rotorExec || partial, start, ds)
	validateProxyExposure(cfg, ds)
	validateEnvTemplates(cfg, rotorExec, start, ds)
	validateConfirm(cfg, ds)
	validateSinks(cfg, ds)

	at := cfg.Vault.AddressRange
	if at.Filename == "" {
		at = cfg.Vault.Range
	}
	if at.Filename == "" {
		at = start
	}
	checkAddress(cfg.Vault.Address, at, ds)
	if (cfg.Vault.ClientCert == "") != (cfg.Vault.ClientKey == "") {
		vat := cfg.Vault.Range
		if vat.Filename == "" {
			vat = start
		}
		ds.errorf(vat, "Conflicting options", "vault: client_cert and client_key (or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY) must be set together.")
	}
	if a := cfg.AutoAuth; a != nil && a.Method != nil {
		m := a.Method
		if m.MinBackoff > m.MaxBackoff {
			ds.warnf(m.Range, "Backoff order", "method %q: min_backoff (%s) is greater than max_backoff (%s); rotor waits %s between failed logins.", m.Type, m.MinBackoff, m.MaxBackoff, m.MinBackoff)
			m.MaxBackoff = m.MinBackoff
		}
		if c := m.Cert; c != nil {
			if (c.ClientCert == "") != (c.ClientKey == "") {
				ds.errorf(m.Range, "Conflicting options", "method \"cert\" config: client_cert and client_key must be set together.")
			} else if c.ClientCert == "" && cfg.Vault.ClientCert == "" {
				ds.warnf(m.Range, "Missing client certificate", "method \"cert\": no client_cert in its config or in the vault block; the login will fail until one is set.")
			}
		}
	}
	if !partial && cfg.AutoAuth == nil && cfg.Token == "" && (len(cfg.Templates) > 0 || cfg.Exec != nil) {
		ds.errorf(start, "Missing auto_auth", "there is no auto_auth block and no VAULT_TOKEN (or BAO_TOKEN) in the environment: rotor has no way to log in.")
	}
	dests := map[string]*Template{}
	for _, t := range cfg.Templates {
		if t.Destination == "" {
			continue
		}
		abs, _ := filepath.Abs(t.Destination)
		if prev, dup := dests[abs]; dup {
			ds.warnf(t.Range, "Same destination", "template destination %s is also written by the template at %s; the two overwrite each other.", t.Destination, prev.Range)
		}
		dests[abs] = t
	}
	if cfg.ExitAfterAuth && cfg.Exec != nil && !rotorExec {
		ds.warnf(cfg.Exec.Range, "Exec never runs", "exit_after_auth = true exits once everything is rendered, so the exec block's command never runs.")
	}
}

// validateVaultRules are Vault Agent 1.21's ValidateConfig and the
// api_proxy/cache checks its start-up makes. skipWhole skips the rules
// about what the whole configuration lacks (rotor exec, or a partial
// decode).
func validateVaultRules(cfg *Config, skipWhole bool, start Pos, ds *diags) {
	c, p, a := cfg.Cache, cfg.APIProxy, cfg.AutoAuth
	wrapped := a != nil && a.Method != nil && a.Method.WrapTTL > 0
	if c != nil && p != nil && c.UseAutoAuthTokenSet {
		if p.UseAutoAuthTokenSet {
			ds.errorf(c.Range, "Conflicting options", "use_auto_auth_token is set in both api_proxy and cache; remove it from the cache block.")
		} else {
			p.ForceAutoAuthToken = c.ForceAutoAuthToken
		}
	}
	if c != nil {
		if len(cfg.Listeners) == 0 && len(cfg.Templates) == 0 && len(cfg.EnvTemplates) == 0 {
			ds.errorf(c.Range, "Cache without users", "cache: enabling the cache needs at least one template or one listener.")
		}
		if c.UseAutoAuthToken && a == nil {
			ds.errorf(c.Range, "Missing auto_auth", "cache: use_auto_auth_token is true but there is no auto_auth block.")
		}
		if c.UseAutoAuthToken && wrapped {
			ds.errorf(c.Range, "Conflicting options", "cache: use_auto_auth_token is true and the auto_auth method uses wrapping (wrap_ttl).")
		}
	}
	if p != nil {
		if len(cfg.Listeners) == 0 {
			ds.errorf(p.Range, "API proxy without listener", "api_proxy: configuring the API proxy needs at least one listener.")
		}
		if p.UseAutoAuthToken && a == nil {
			ds.errorf(p.Range, "Missing auto_auth", "api_proxy: use_auto_auth_token is true but there is no auto_auth block.")
		}
		if p.UseAutoAuthToken && wrapped {
			ds.errorf(p.Range, "Conflicting options", "api_proxy: use_auto_auth_token is true and the auto_auth method uses wrapping (wrap_ttl).")
		}
	}
	if a != nil && !skipWhole && len(a.Sinks) == 0 && (p == nil || !p.UseAutoAuthToken) && len(cfg.Templates) == 0 && len(cfg.EnvTemplates) == 0 {
		ds.errorf(a.Range, "Nothing uses the token", "auto_auth needs at least one sink, one template or env_template, or api_proxy { use_auto_auth_token = true }: otherwise the token it gets is used by nothing.")
	}
	if a == nil && c == nil && len(cfg.Listeners) == 0 && !skipWhole {
		ds.errorf(start, "Nothing to do", "there is no auto_auth, cache or listener block: Vault Agent refuses such a configuration, and so does rotor. To use an existing token, add auto_auth { method \"token_file\" { config = { token_file_path = \"...\" } } }, or run a one-off command with rotor exec (which takes VAULT_TOKEN).")
	}
	// enforce_consistency / when_inconsistent, as Vault Agent checks them
	// when it starts: valid values, and not set in both blocks.
	var proxyEnforce, proxyWhen string
	if p != nil {
		proxyEnforce, proxyWhen = p.EnforceConsistency, p.WhenInconsistent
		checkConsistency(ds, p.Range, "api_proxy", p.EnforceConsistency, p.WhenInconsistent)
	}
	if c != nil && checkConsistency(ds, c.Range, "cache", c.EnforceConsistency, c.WhenInconsistent) {
		if c.EnforceConsistency == "always" && proxyEnforce == "always" {
			ds.errorf(c.Range, "Conflicting options", "enforce_consistency is set in both api_proxy and cache; remove it from the cache block.")
		}
		if (c.WhenInconsistent == "retry" || c.WhenInconsistent == "forward") && (proxyWhen == "retry" || proxyWhen == "forward") {
			ds.errorf(c.Range, "Conflicting options", "when_inconsistent is set in both api_proxy and cache; remove it from the cache block.")
		}
	}
}

func checkConsistency(ds *diags, at Pos, where, enforce, when string) bool {
	ok := true
	switch enforce {
	case "always", "never", "":
	default:
		ds.errorf(at, "Invalid value", "%s: enforce_consistency %q: use \"always\" or \"never\".", where, enforce)
		ok = false
	}
	switch when {
	case "retry", "forward", "fail", "":
	default:
		ds.errorf(at, "Invalid value", "%s: when_inconsistent %q: use \"fail\", \"retry\" or \"forward\".", where, when)
		ok = false
	}
	return ok
}

// validateEnvTemplates is Vault Agent's env_template/exec rule set.
func validateEnvTemplates(cfg *Config, rotorExec bool, start Pos, ds *diags) {
	names := map[string]*EnvTemplate{}
	for _, e := range cfg.EnvTemplates {
		if prev, dup := names[e.Name]; dup {
			ds.errorf(e.Range, "Duplicate block", "env_template %q is also defined at %s.", e.Name, prev.Range)
		}
		names[e.Name] = e
	}
	if rotorExec || (cfg.Exec == nil && len(cfg.EnvTemplates) == 0) {
		return
	}
	switch {
	case cfg.Exec == nil:
		ds.errorf(cfg.EnvTemplates[0].Range, "Missing exec", "env_template needs an exec block: the environment is given to the command it runs.")
	case len(cfg.EnvTemplates) == 0:
		ds.errorf(cfg.Exec.Range, "Missing env_template", "an exec block needs at least one env_template block (the environment it gives the command).")
	default:
		if cfg.APIProxy != nil {
			ds.errorf(cfg.APIProxy.Range, "Conflicting options", "api_proxy cannot be used with env_template blocks.")
		}
		if len(cfg.Templates) > 0 {
			ds.errorf(cfg.Templates[0].Range, "Conflicting options", "template blocks cannot be used with env_template blocks (Vault Agent's rule: exec mode renders only env_templates).")
		}
	}
}

// validateSinks checks the sinks' encryption keys as Vault Agent does,
// once aad_env_var has been read, and warns about a path two sinks share.
func validateSinks(cfg *Config, ds *diags) {
	if cfg.AutoAuth == nil {
		return
	}
	paths := map[string]*Sink{}
	for _, s := range cfg.AutoAuth.Sinks {
		where := fmt.Sprintf("sink %q", s.Type)
		switch {
		case s.DHPath == "" && s.DHType == "":
			if s.AAD != "" {
				ds.errorf(s.Range, "Conflicting options", "%s: aad (or aad_env_var) without dh_type does not make sense.", where)
			}
			if s.DeriveKey {
				ds.errorf(s.Range, "Conflicting options", "%s: derive_key without dh_type does not make sense.", where)
			}
		case s.DHPath != "" && s.DHType != "":
		default:
			ds.errorf(s.Range, "Conflicting options", "%s: dh_type and dh_path must be set together.", where)
		}
		if s.Path == "" {
			continue
		}
		abs, _ := filepath.Abs(s.Path)
		if prev, dup := paths[abs]; dup {
			ds.warnf(s.Range, "Same sink path", "sink path %s is also used by the sink at %s.", s.Path, prev.Range)
		}
		paths[abs] = s
	}
}

// Warnings returns the configuration's warnings as text, followed by those
// about this machine (a template source file that does not exist here).
func Warnings(cfg *Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.String())
	}
	for _, t := range cfg.Templates {
		if t.Source != "" {
			if _, err := os.Stat(t.Source); err != nil {
				out = append(out, fmt.Sprintf("%s: template source %s: %v", t.Range, t.Source, errors.Unwrap(err)))
			}
		}
	}
	return out
}

// checkAddress judges the Vault address as Vault Agent does: an address
// url.Parse refuses stops it before it starts (api.NewClient: "Error
// fetching client"), and so it stops rotor, with Vault's reason. An
// address that parses but names no server (a placeholder such as
// <vault-address>, or ${VAULT_ADDR} written literally) starts Vault Agent,
// whose every request then fails; rotor starts too, as a drop-in, and says
// loudly that it cannot reach Vault (an error under -strict).
func checkAddress(addr string, at Pos, ds *diags) {
	u, err := url.Parse(addr)
	if err != nil {
		ds.errorf(at, "Invalid Vault address", "vault address: %v: Vault Agent stops here too (Error fetching client). Use a URL such as https://vault.example.com:8200 (from vault.address, VAULT_ADDR or BAO_ADDR).", err)
		return
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" || u.Scheme == "unix" {
		return
	}
	hint := "Use a URL such as https://vault.example.com:8200."
	if strings.Contains(addr, "${") {
		hint = "To take it from the environment, start rotor with -expand-env and write ${env:VAULT_ADDR}, or leave vault.address out: rotor then reads VAULT_ADDR itself."
	}
	ds.warnf(at, "Unusable Vault address", "vault address %q is not a URL of a server: Vault Agent starts with it and every request fails, and so will rotor's. %s", addr, hint)
}
