package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

var templateSchema = &hcl.BodySchema{
	Attributes: attrSchema(nil, "source", "contents", "destination", "perms", "user", "group", "uid", "gid",
		"create_dest_dirs", "backup", "command", "command_timeout", "error_on_missing_key",
		"left_delimiter", "right_delimiter", "sandbox_path", "revoke_on_shutdown"),
	Blocks: []hcl.BlockHeaderSchema{{Type: "exec"}, {Type: "wait"}},
}

func decodeTemplate(body hcl.Body, t *Template) hcl.Diagnostics {
	content, diags := body.Content(templateSchema)
	if content == nil {
		return diags
	}
	t.CreateDestDirs = true
	f := newFields(content.Attributes, &diags, "template")
	f.str("source", &t.Source)
	f.str("contents", &t.Contents)
	f.str("destination", &t.Destination)
	f.mode("perms", &t.Perms)
	decodeOwner(f, "user", "group", &t.Owner)
	f.boolean("create_dest_dirs", &t.CreateDestDirs)
	f.boolean("backup", &t.Backup)
	f.command("command", &t.Command)
	f.duration("command_timeout", &t.CommandTimeout)
	f.boolean("error_on_missing_key", &t.ErrorOnMissingKey)
	f.str("left_delimiter", &t.LeftDelim)
	f.str("right_delimiter", &t.RightDelim)
	f.str("sandbox_path", &t.SandboxPath)
	f.optBool("revoke_on_shutdown", &t.RevokeOnShutdown)
	if f.has("source") == f.has("contents") {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
			Detail: "template: set exactly one of source and contents.", Subject: t.Range.Ptr()})
	}
	if !f.has("destination") {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing required argument",
			Detail: "template: \"destination\" is required.", Subject: t.Range.Ptr()})
	}
	var seenExec, seenWait bool
	for _, b := range content.Blocks {
		switch b.Type {
		case "exec":
			if seenExec || f.has("command") {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
					Detail: "template: use either command or one exec block.", Subject: b.DefRange.Ptr()})
				continue
			}
			seenExec = true
			ec, d := b.Body.Content(&hcl.BodySchema{Attributes: attrSchema([]string{"command"}, "timeout")})
			diags = append(diags, d...)
			if ec != nil {
				ef := newFields(ec.Attributes, &diags, "template.exec")
				ef.command("command", &t.Command)
				ef.duration("timeout", &t.CommandTimeout)
			}
		case "wait":
			if seenWait {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate block",
					Detail: "template: only one wait block is allowed.", Subject: b.DefRange.Ptr()})
				continue
			}
			seenWait = true
			wc, d := b.Body.Content(&hcl.BodySchema{Attributes: attrSchema(nil, "min", "max")})
			diags = append(diags, d...)
			if wc != nil {
				wf := newFields(wc.Attributes, &diags, "template.wait")
				wf.duration("min", &t.WaitMin)
				wf.duration("max", &t.WaitMax)
				if t.WaitMax != 0 && t.WaitMax < t.WaitMin {
					wf.errorf("max", "Invalid value", "template.wait: max (%s) is less than min (%s).", t.WaitMax, t.WaitMin)
				}
			}
		}
	}
	return diags
}

func decodeTemplateConfig(body hcl.Body, tc *TemplateConfig) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: attrSchema(nil, "exit_on_retry_failure",
		"static_secret_render_interval", "max_connections_per_host", "lease_renewal_threshold")})
	if content == nil {
		return diags
	}
	f := newFields(content.Attributes, &diags, "template_config")
	f.boolean("exit_on_retry_failure", &tc.ExitOnRetryFailure)
	f.duration("static_secret_render_interval", &tc.StaticSecretRenderInterval)
	if f.has("static_secret_render_interval") && tc.StaticSecretRenderInterval < 1e9 {
		f.errorf("static_secret_render_interval", "Invalid value", "template_config: static_secret_render_interval must be at least 1s.")
	}
	f.integer("max_connections_per_host", &tc.MaxConnectionsPerHost)
	if f.has("max_connections_per_host") && tc.MaxConnectionsPerHost < 1 {
		f.errorf("max_connections_per_host", "Invalid value", "template_config: max_connections_per_host must be at least 1.")
	}
	f.float("lease_renewal_threshold", &tc.LeaseRenewalThreshold)
	if f.has("lease_renewal_threshold") && (tc.LeaseRenewalThreshold <= 0 || tc.LeaseRenewalThreshold > 1) {
		f.errorf("lease_renewal_threshold", "Invalid value", "template_config: lease_renewal_threshold must be in (0, 1], e.g. 0.9.")
	}
	return diags
}

func decodeExec(body hcl.Body, e *Exec) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: attrSchema([]string{"command"},
		"restart_on_secret_changes", "restart_stop_signal", "restart_kill_timeout", "reload_signal", "debounce")})
	if content == nil {
		return diags
	}
	f := newFields(content.Attributes, &diags, "exec")
	f.command("command", &e.Command)
	f.str("restart_on_secret_changes", &e.RestartOnSecretChanges)
	switch e.RestartOnSecretChanges {
	case "", "always", "never":
	default:
		f.errorf("restart_on_secret_changes", "Invalid value", "exec: restart_on_secret_changes must be \"always\" or \"never\", not %q.", e.RestartOnSecretChanges)
	}
	f.str("restart_stop_signal", &e.RestartStopSignal)
	f.str("reload_signal", &e.ReloadSignal)
	for _, k := range []string{"restart_stop_signal", "reload_signal"} {
		var v string
		f.str(k, &v)
		if v != "" && !knownSignal(v) {
			f.errorf(k, "Invalid value", "exec: %s %q is not a signal name such as \"SIGTERM\".", k, v)
		}
	}
	f.duration("restart_kill_timeout", &e.RestartKillTimeout)
	f.duration("debounce", &e.Debounce)
	return diags
}

func decodeState(body hcl.Body, s *State) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: attrSchema([]string{"dir"},
		"key_file", "key_env", "kubernetes_service_account_key")})
	if content == nil {
		return diags
	}
	f := newFields(content.Attributes, &diags, "state")
	f.str("dir", &s.Dir)
	f.str("key_file", &s.KeyFile)
	f.str("key_env", &s.KeyEnv)
	f.boolean("kubernetes_service_account_key", &s.KubernetesSAToken)
	n := 0
	for _, set := range []bool{s.KeyEnv != "", s.KubernetesSAToken, s.KeyFile != "" && !s.KubernetesSAToken} {
		if set {
			n++
		}
	}
	if n != 1 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
			Detail: "state: set exactly one key source: key_file, key_env, or kubernetes_service_account_key = true (which may take key_file as the token's path).", Subject: s.Range.Ptr()})
	}
	return diags
}

// knownSignal reports whether name is a signal rotor can send.
func knownSignal(name string) bool {
	switch name {
	case "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGTERM", "SIGUSR1", "SIGUSR2":
		return true
	}
	return false
}

func decodeEnvTemplate(body hcl.Body, e *EnvTemplate) hcl.Diagnostics {
	content, diags := body.Content(&hcl.BodySchema{Attributes: attrSchema(nil, "contents", "source", "error_on_missing_key")})
	if content == nil {
		return diags
	}
	f := newFields(content.Attributes, &diags, fmt.Sprintf("env_template %q", e.Name))
	f.str("contents", &e.Contents)
	f.str("source", &e.Source)
	f.boolean("error_on_missing_key", &e.ErrorOnMissingKey)
	if f.has("source") == f.has("contents") {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
			Detail: fmt.Sprintf("env_template %q: set exactly one of source and contents.", e.Name), Subject: e.Range.Ptr()})
	}
	return diags
}
