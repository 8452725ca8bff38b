package config

// merge combines the files' parts in order with Vault Agent's rules
// (command/agent/config Config.Merge): a later file's vault, auto_auth,
// cache, api_proxy and exec blocks replace an earlier file's, as does a
// non-empty template_config or pid_file; templates, env_templates and
// listeners add up; exit_after_auth is true if any file says so. rotor's
// own keys follow the same pattern. A replaced block is a warning.
func merge(parts []*part, ds *diags) *Config {
	out := &Config{}
	out.Vault.NumRetries = -2
	replaced := func(what string, now, before Pos) {
		ds.warnf(now, "Block replaced", "this %s block replaces the one at %s: with several files, the last file's %s block is used, as in Vault Agent.", what, before, what)
	}
	for _, p := range parts {
		c := p.cfg
		if p.vault != nil {
			if out.Vault.Range.Filename != "" {
				replaced("vault", c.Vault.Range, out.Vault.Range)
			}
			out.Vault = c.Vault
		}
		if c.AutoAuth != nil {
			if out.AutoAuth != nil {
				replaced("auto_auth", c.AutoAuth.Range, out.AutoAuth.Range)
			}
			out.AutoAuth = c.AutoAuth
		}
		if c.Cache != nil {
			if out.Cache != nil {
				replaced("cache", c.Cache.Range, out.Cache.Range)
			}
			out.Cache = c.Cache
		}
		if c.APIProxy != nil {
			out.APIProxy = c.APIProxy
		}
		if c.Exec != nil {
			if out.Exec != nil {
				replaced("exec", c.Exec.Range, out.Exec.Range)
			}
			out.Exec = c.Exec
		}
		if c.State != nil {
			if out.State != nil {
				replaced("state", c.State.Range, out.State.Range)
			}
			out.State = c.State
		}
		if p.templateConfig && c.TemplateConfig != (TemplateConfig{}) {
			out.TemplateConfig = c.TemplateConfig
		}
		out.Templates = append(out.Templates, c.Templates...)
		out.EnvTemplates = append(out.EnvTemplates, c.EnvTemplates...)
		out.Listeners = append(out.Listeners, c.Listeners...)
		out.ExitAfterAuth = out.ExitAfterAuth || c.ExitAfterAuth
		out.RevokeOnShutdown = out.RevokeOnShutdown || c.RevokeOnShutdown
		out.RevokeTokenOnShutdown = out.RevokeTokenOnShutdown || c.RevokeTokenOnShutdown
		for _, s := range []struct{ dst, src *string }{{&out.PidFile, &c.PidFile}, {&out.LogLevel, &c.LogLevel},
			{&out.LogFormat, &c.LogFormat}, {&out.LogFile, &c.LogFile}} {
			if *s.src != "" {
				*s.dst = *s.src
			}
		}
		if c.LogRotateBytes != 0 {
			out.LogRotateBytes = c.LogRotateBytes
		}
		if c.LogRotateMaxFiles != 0 {
			out.LogRotateMaxFiles = c.LogRotateMaxFiles
		}
		if c.LogRotateDuration != 0 {
			out.LogRotateDuration = c.LogRotateDuration
		}
		out.DisableIdleConnections = union(out.DisableIdleConnections, c.DisableIdleConnections)
		out.DisableKeepAlives = union(out.DisableKeepAlives, c.DisableKeepAlives)
	}
	return out
}

func union(a, b []string) []string {
	for _, s := range b {
		if s != "" && !contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
