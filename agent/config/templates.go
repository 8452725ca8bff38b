package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// templateSpec is consul-template's TemplateConfig as Vault Agent decodes
// it (strictly: unknown keys are errors there too), plus rotor's
// revoke_on_shutdown and its per-template renewal policy
// (lease_renewal_threshold, static_secret_render_interval) and its
// confirm block (confirm.go).
var templateSpec = spec{strict: true, known: []string{"source", "contents", "destination", "perms", "user", "group", "uid", "gid",
	"create_dest_dirs", "backup", "command", "command_timeout", "error_on_missing_key", "error_fatal",
	"left_delimiter", "right_delimiter", "sandbox_path", "wait", "exec", "function_denylist", "function_blacklist",
	"revoke_on_shutdown", "lease_renewal_threshold", "static_secret_render_interval", "confirm"}}

var templateExecSpec = spec{strict: true, known: []string{"command", "timeout", "env"}, ignored: map[string]string{
	"enabled":       "consul-template's exec option, which Vault Agent's template command does not use",
	"kill_signal":   "consul-template's exec option, which Vault Agent's template command does not use",
	"kill_timeout":  "consul-template's exec option, which Vault Agent's template command does not use",
	"splay":         "consul-template's exec option, which Vault Agent's template command does not use",
	"reload_signal": "consul-template's exec option, which Vault Agent's template command does not use",
}}

// tstr reads a consul-template string key (a quoted string only).
func (d *decoder) tstr(b *block, name string, dst *string) bool {
	if a := b.one(name); a != nil {
		return d.mapStr(a, b.where, name, dst)
	}
	return false
}

func (d *decoder) tbool(b *block, name string, dst *bool) bool {
	if a := b.one(name); a != nil {
		return d.strictBool(a, b.where, name, dst)
	}
	return false
}

func (d *decoder) decodeTemplate(b *block, it *item) *Template {
	t := &Template{Range: it.pos, CreateDestDirs: true}
	d.tstr(b, "source", &t.Source)
	d.tstr(b, "contents", &t.Contents)
	d.tstr(b, "destination", &t.Destination)
	if a := b.one("perms"); a != nil {
		d.perms(a, b.where, "perms", &t.Perms)
	}
	d.decodeOwner(b, "user", "group", false, &t.Owner)
	d.tbool(b, "create_dest_dirs", &t.CreateDestDirs)
	d.tbool(b, "backup", &t.Backup)
	if a := b.one("command"); a != nil {
		d.templateCommand(a, b.where, "command", &t.Command)
	}
	if a := b.one("command_timeout"); a != nil {
		d.commandTimeout(a, b.where, "command_timeout", &t.CommandTimeout)
	}
	d.tbool(b, "error_on_missing_key", &t.ErrorOnMissingKey)
	var fatal bool
	if d.tbool(b, "error_fatal", &fatal) {
		t.ErrorFatal = &fatal
		d.warnErrorFatal(b)
	}
	d.tstr(b, "left_delimiter", &t.LeftDelim)
	d.tstr(b, "right_delimiter", &t.RightDelim)
	d.tstr(b, "sandbox_path", &t.SandboxPath)
	d.denylist(b, &t.FunctionDenylist)
	if a := b.one("revoke_on_shutdown"); a != nil {
		var v bool
		if d.strictBool(a, b.where, "revoke_on_shutdown", &v) {
			t.RevokeOnShutdown = &v
		}
	}
	d.templateRenewal(b, t)
	d.decodeConfirm(b, t)
	checkTemplate(d, t, it, "template")
	// Several wait or exec blocks: the last one counts, as Vault Agent
	// flattens them.
	if ws := b.all("wait"); len(ws) > 0 {
		if len(ws) > 1 {
			d.ds.warnf(ws[len(ws)-1].pos, "Repeated block", "template: %d wait blocks; the last one is used, as in Vault Agent.", len(ws))
		}
		d.decodeWait(b, ws[len(ws)-1], t)
	}
	if es := b.all("exec"); len(es) > 0 {
		last := es[len(es)-1]
		if len(es) > 1 {
			d.ds.warnf(last.pos, "Repeated block", "template: %d exec blocks; the last one is used, as in Vault Agent.", len(es))
		}
		if b.has("command") {
			d.ds.warnf(last.pos, "Conflicting options", "template: both command and an exec block are set; the exec block's command is used, as in Vault Agent.")
		}
		eb := b.body(last, "template.exec", templateExecSpec)
		if a := eb.one("command"); a != nil {
			t.Command = Command{}
			d.templateCommand(a, eb.where, "command", &t.Command)
		} else {
			// consul-template then runs the template's command, if any.
			d.ds.warnf(last.pos, "Setting ignored", "template.exec: no command: Vault Agent runs the template's command, if any, and so does rotor.")
		}
		if a := eb.one("env"); a != nil {
			// The template decoder gives exec.env (a struct) the list HCL
			// makes of any block or object.
			d.ds.errorf(a.pos, "Invalid type", "template.exec: 'exec.env' expected a map, got '%s' (Vault Agent refuses it too): a template's command gets rotor's environment; remove env.", hclKind(a))
		}
		if a := eb.one("timeout"); a != nil {
			d.commandTimeout(a, eb.where, "timeout", &t.CommandTimeout)
		}
	}
	return t
}

// templateRenewal reads rotor's per-template renewal policy: the
// template_config keys of the same names, for this template's secrets.
// They are rotor's own keys, so a bad value is an error, not a default.
func (d *decoder) templateRenewal(b *block, t *Template) {
	if a := b.one("lease_renewal_threshold"); a != nil && d.float(a, b.where, "lease_renewal_threshold", &t.LeaseRenewalThreshold) {
		if v := t.LeaseRenewalThreshold; v <= 0 || v > 1 {
			d.ds.errorf(a.vpos, "Invalid value", "%s: lease_renewal_threshold %g is outside (0, 1]: the fraction of a secret's life after which it is fetched again, e.g. 0.5.", b.where, v)
			t.LeaseRenewalThreshold = 0
		}
	}
	if a := b.one("static_secret_render_interval"); a != nil && d.duration(a, b.where, "static_secret_render_interval", &t.StaticSecretRenderInterval) {
		if v := t.StaticSecretRenderInterval; v < time.Second {
			d.ds.errorf(a.vpos, "Invalid value", "%s: static_secret_render_interval %s is below 1s, e.g. \"30s\".", b.where, v)
			t.StaticSecretRenderInterval = 0
		}
	}
}

// checkTemplate is rotor's rule for every template: one of source and
// contents, and a destination.
func checkTemplate(d *decoder, t *Template, it *item, where string) {
	switch {
	case t.Source != "" && t.Contents != "":
		d.ds.errorf(it.pos, "Conflicting options", "%s: set exactly one of source and contents (both are set).", where)
	case t.Source == "" && t.Contents == "":
		d.ds.errorf(it.pos, "Missing required argument", "%s: set one of source and contents (a non-empty string).", where)
	}
	if t.Destination == "" {
		d.ds.errorf(it.pos, "Missing required argument", "%s: \"destination\" is required (a non-empty string).", where)
	}
}

func (d *decoder) warnErrorFatal(b *block) {
	d.ds.warnf(b.one("error_fatal").pos, "Ignored by rotor", "%s: error_fatal: consul-template stops on a template error when it is true; rotor logs a failing template and retries it with backoff (template_config's exit_on_retry_failure ends rotor), and ignores it.", b.where)
}

// decodeWait reads wait { min max } or wait = "min[:max]".
func (d *decoder) decodeWait(b *block, it *item, t *Template) {
	if l, ok := d.lit(it); ok && l.Token.Type == token.STRING {
		s, _ := tokValue(l.Token).(string)
		lo, hi, two := strings.Cut(s, ":")
		var err error
		if t.WaitMin, err = time.ParseDuration(strings.TrimSpace(lo)); err == nil && two {
			t.WaitMax, err = time.ParseDuration(strings.TrimSpace(hi))
		} else if err == nil {
			t.WaitMax = 4 * t.WaitMin // consul-template's rule for a single value
		}
		switch {
		case err != nil || t.WaitMin < 0 || t.WaitMax < 0:
			d.ds.errorf(it.vpos, "Invalid duration", "template: wait = %q: use \"5s\" or \"5s:30s\".", s)
		case t.WaitMax < t.WaitMin:
			// consul-template's ParseWaitConfig, which Vault Agent runs on
			// the string form only.
			d.ds.errorf(it.vpos, "Invalid value", "template: wait = %q: wait: min must be less than max (Vault Agent refuses it too).", s)
		}
		return
	}
	wb := b.body(it, "template.wait", spec{strict: true, known: []string{"min", "max"}})
	for _, k := range []struct {
		name string
		dst  *time.Duration
	}{{"min", &t.WaitMin}, {"max", &t.WaitMax}} {
		if a := wb.one(k.name); a != nil && d.ctDuration(a, wb.where, k.name, k.dst) && *k.dst < 0 {
			// consul-template's quiescence timer fires at once for a
			// negative min; a negative max is a deadline already passed,
			// which it never shortens a wait to.
			d.ds.warnf(a.vpos, "Setting ignored", "template.wait: %s %s is negative: Vault Agent then has no %s; neither does rotor.", k.name, *k.dst, map[string]string{"min": "wait", "max": "cap on the wait"}[k.name])
			*k.dst = 0
		}
	}
	// The block form is not checked by Vault Agent: min above max
	// starts, and consul-template's first wait after a change is min.
	if t.WaitMax != 0 && t.WaitMax < t.WaitMin {
		d.ds.warnf(it.pos, "Setting ignored", "template.wait: max (%s) is less than min (%s): Vault Agent starts with it and waits min after a change; rotor waits min and ignores max. Swap them, or raise max.", t.WaitMax, t.WaitMin)
		t.WaitMax = t.WaitMin
	}
}

// templateCommand reads a template's command. An empty one (the string
// "", an empty list, or an empty program name) is consul-template's "no
// command": Vault Agent starts, and runs nothing after rendering.
func (d *decoder) templateCommand(it *item, where, name string, dst *Command) {
	if d.emptyCommand(it) {
		d.ds.warnf(it.vpos, "Setting ignored", "%s: %s is empty: Vault Agent runs no command after rendering; neither does rotor. Remove it, or name a command.", where, name)
		*dst = Command{}
		return
	}
	d.command(it, where, name, dst)
}

// emptyCommand reports whether it is a command consul-template takes as
// empty (commandList.Empty) and Vault Agent's decoder lets through.
func (d *decoder) emptyCommand(it *item) bool {
	if l, ok := d.lit(it); ok && (l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC) {
		s, _ := tokValue(l.Token).(string)
		return strings.TrimSpace(s) == ""
	}
	lt, ok := it.val.(*ast.ListType)
	if !ok {
		return false
	}
	if len(lt.List) == 0 {
		return true
	}
	first, ok := lt.List[0].(*ast.LiteralType)
	if !ok || first.Token.Type != token.STRING {
		return false
	}
	for _, n := range lt.List[1:] {
		if l, ok := n.(*ast.LiteralType); !ok || l.Token.Type != token.STRING && l.Token.Type != token.NUMBER && l.Token.Type != token.FLOAT {
			return false // HCL's error comes first
		}
	}
	s, _ := tokValue(first.Token).(string)
	return s == ""
}

// commandTimeout reads a template's command_timeout (or its exec block's
// timeout). consul-template kills a command whose timeout has passed, so
// Vault Agent kills it at once for a negative one; rotor uses its default.
func (d *decoder) commandTimeout(it *item, where, name string, dst *time.Duration) {
	if d.ctDuration(it, where, name, dst) && *dst < 0 {
		d.ds.warnf(it.vpos, "Default used", "%s: %s %s is negative: Vault Agent kills the command as soon as it starts (it has run past its time limit); rotor uses the default, 30s. Write a positive duration.", where, name, *dst)
		*dst = 0
	}
}

// denylist reads function_denylist (or its old name function_blacklist).
func (d *decoder) denylist(b *block, dst *[]string) {
	for _, k := range []string{"function_blacklist", "function_denylist"} {
		if a := b.one(k); a != nil {
			var v []string
			if d.strList(a, b.where, k, true, &v) {
				*dst = append(*dst, v...)
			}
		}
	}
}

var templateConfigSpec = spec{known: []string{"exit_on_retry_failure", "static_secret_render_interval",
	"max_connections_per_host", "lease_renewal_threshold", "max_rendered_bytes"}}

func (d *decoder) decodeTemplateConfig(b *block, tc *TemplateConfig) {
	const w = "template_config"
	d.tbool(b, "exit_on_retry_failure", &tc.ExitOnRetryFailure)
	if a := b.one("static_secret_render_interval"); a != nil && d.negDuration(a, w, "static_secret_render_interval", &tc.StaticSecretRenderInterval) {
		if v := tc.StaticSecretRenderInterval; v < 0 {
			// consul-template then sleeps a negative time between reads.
			d.ds.warnf(a.vpos, "Value raised", "template_config: static_secret_render_interval %s is negative: Vault Agent then reads static secrets again without pause; rotor uses 1s.", v)
			tc.StaticSecretRenderInterval = time.Second
		} else if v > 0 && v < time.Second {
			d.ds.warnf(a.vpos, "Value raised", "template_config: static_secret_render_interval %s is below 1s; rotor uses 1s.", v)
			tc.StaticSecretRenderInterval = time.Second
		}
	}
	if a := b.one("max_connections_per_host"); a != nil && (emptyString(a) || d.strictInt(a, w, "max_connections_per_host", &tc.MaxConnectionsPerHost)) {
		// parseutil.SafeParseInt reads "" as 0.
		if tc.MaxConnectionsPerHost < 1 {
			d.ds.warnf(a.vpos, "Default used", "template_config: max_connections_per_host %d: rotor needs at least 1 and uses the default, %d.", tc.MaxConnectionsPerHost, DefaultMaxConnectionsPerHost)
			tc.MaxConnectionsPerHost = 0
		}
	}
	if a := b.one("max_rendered_bytes"); a != nil && d.strictInt(a, w, "max_rendered_bytes", &tc.MaxRenderedBytes) {
		// rotor's own key: the cap on a rendered template and on a file
		// the file function reads.
		if tc.MaxRenderedBytes < 1 {
			d.ds.errorf(a.vpos, "Invalid value", "template_config: max_rendered_bytes must be at least 1 (bytes), e.g. 16777216.")
		}
	}
	if a := b.one("lease_renewal_threshold"); a != nil && d.float(a, w, "lease_renewal_threshold", &tc.LeaseRenewalThreshold) {
		if v := tc.LeaseRenewalThreshold; v <= 0 || v > 1 {
			d.ds.warnf(a.vpos, "Default used", "template_config: lease_renewal_threshold %g is outside (0, 1]; rotor uses the default, %g.", v, DefaultLeaseRenewalThreshold)
			tc.LeaseRenewalThreshold = 0
		}
	}
}

var execSpec = spec{strict: true, known: []string{"command", "restart_on_secret_changes", "restart_stop_signal",
	"child_process_stdout", "child_process_stderr", "restart_kill_timeout", "reload_signal", "debounce"}}

func (d *decoder) decodeExec(b *block, it *item) *Exec {
	e := &Exec{Range: it.pos}
	const w = "exec"
	if a := b.one("command"); a == nil {
		d.ds.errorf(it.pos, "Missing required argument", "exec: \"command\" is required.")
	} else if d.command(a, w, "command", &e.Command) && e.Command.Shell != "" {
		// Vault Agent decodes exec's command into a list only: a string
		// stops its loader ("unknown slice type"), so it stops rotor too.
		d.ds.errorf(a.vpos, "Invalid type", "exec: command must be a list of strings, e.g. [\"/usr/bin/app\", \"--flag\"]: Vault Agent refuses a string here (unknown slice type), and so does rotor. For a shell, write [\"/bin/sh\", \"-c\", \"...\"].")
	}
	if a := b.one("restart_on_secret_changes"); a != nil && d.mapStr(a, w, "restart_on_secret_changes", &e.RestartOnSecretChanges) {
		switch e.RestartOnSecretChanges {
		case "always", "never":
		default:
			d.ds.errorf(a.vpos, "Invalid value", "exec: restart_on_secret_changes must be \"always\" or \"never\", not %q.", e.RestartOnSecretChanges)
		}
	}
	for _, k := range []struct {
		name string
		dst  *string
	}{{"restart_stop_signal", &e.RestartStopSignal}, {"reload_signal", &e.ReloadSignal}} {
		if a := b.one(k.name); a != nil && d.mapStr(a, w, k.name, k.dst) {
			*k.dst = strings.ToUpper(strings.TrimSpace(*k.dst))
			if !knownSignal(*k.dst) {
				d.ds.errorf(a.vpos, "Invalid value", "exec: %s %q is not a signal name such as \"SIGTERM\".", k.name, *k.dst)
			}
		}
	}
	for _, k := range []struct {
		name string
		dst  *string
	}{{"child_process_stdout", &e.ChildProcessStdout}, {"child_process_stderr", &e.ChildProcessStderr}} {
		if a := b.one(k.name); a != nil && d.mapStr(a, w, k.name, k.dst) {
			d.ds.warnf(a.pos, "Ignored by rotor", "exec: %s: Vault Agent appends the child's output to this file; rotor passes it to its own output and ignores it.", k.name)
		}
	}
	if a := b.one("restart_kill_timeout"); a != nil {
		d.duration(a, w, "restart_kill_timeout", &e.RestartKillTimeout)
	}
	if a := b.one("debounce"); a != nil {
		d.duration(a, w, "debounce", &e.Debounce)
	}
	return e
}

// knownSignal reports whether name is a signal rotor can send.
func knownSignal(name string) bool {
	switch name {
	case "SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGTERM", "SIGUSR1", "SIGUSR2":
		return true
	}
	return false
}

// envTemplateSpec: the keys Vault Agent allows, then consul-template keys
// it refuses in an env_template (listed so the error says so).
var envTemplateAllowed = []string{"contents", "source", "error_on_missing_key", "error_fatal", "left_delimiter",
	"right_delimiter", "function_denylist", "function_blacklist"}
var envTemplateRefused = []string{"backup", "command", "command_timeout", "create_dest_dirs", "destination", "exec",
	"perms", "user", "uid", "group", "gid", "wait", "sandbox_path"}

func (d *decoder) decodeEnvTemplate(parent *block, it *item) *EnvTemplate {
	if len(it.labels) != 1 {
		d.ds.errorf(it.pos, "Missing name", "env_template needs exactly one environment variable name, e.g. env_template \"DB_PASSWORD\" { ... } (got %d).", len(it.labels))
		return nil
	}
	name := strings.Trim(it.labels[0].Token.Text, `"`)
	e := &EnvTemplate{Name: name, Range: it.pos}
	where := fmt.Sprintf("env_template %q", name)
	b := parent.typedBody(it, where, spec{strict: true, known: append(append([]string(nil), envTemplateAllowed...), envTemplateRefused...)})
	for _, k := range envTemplateRefused {
		if a := b.one(k); a != nil {
			d.ds.errorf(a.pos, "Unsupported argument", "%s: %q is not allowed in an env_template.", where, k)
		}
	}
	d.tstr(b, "contents", &e.Contents)
	d.tstr(b, "source", &e.Source)
	d.tbool(b, "error_on_missing_key", &e.ErrorOnMissingKey)
	var fatal bool
	if d.tbool(b, "error_fatal", &fatal) {
		e.ErrorFatal = &fatal
		d.warnErrorFatal(b)
	}
	d.tstr(b, "left_delimiter", &e.LeftDelim)
	d.tstr(b, "right_delimiter", &e.RightDelim)
	d.denylist(b, &e.FunctionDenylist)
	switch {
	case b.has("source") && b.has("contents"):
		d.ds.errorf(it.pos, "Conflicting options", "%s: 'contents' and 'source' cannot be specified together.", where)
	case !b.has("source") && !b.has("contents"):
		d.ds.errorf(it.pos, "Missing required argument", "%s: either 'contents' or 'source' must be specified.", where)
	}
	return e
}

var stateSpec = spec{known: []string{"dir", "key_file", "key_env", "kubernetes_service_account_key"}}

func (d *decoder) decodeState(b *block, s *State) {
	const w = "state"
	if a := b.one("dir"); a == nil {
		d.ds.errorf(s.Range, "Missing required argument", "state: \"dir\" is required.")
	} else {
		d.str(a, w, "dir", &s.Dir)
	}
	if a := b.one("key_file"); a != nil {
		d.str(a, w, "key_file", &s.KeyFile)
	}
	if a := b.one("key_env"); a != nil {
		d.str(a, w, "key_env", &s.KeyEnv)
	}
	if a := b.one("kubernetes_service_account_key"); a != nil {
		d.strictBool(a, w, "kubernetes_service_account_key", &s.KubernetesSAToken)
	}
	n := 0
	for _, set := range []bool{s.KeyEnv != "", s.KubernetesSAToken, s.KeyFile != "" && !s.KubernetesSAToken} {
		if set {
			n++
		}
	}
	if n != 1 {
		d.ds.errorf(s.Range, "Conflicting options", "state: set exactly one key source: key_file, key_env, or kubernetes_service_account_key = true (which may take key_file as the token's path).")
	}
}

// hclKind is the Go kind mapstructure names for the value HCL 1 decodes
// it into: a block or object is a list of maps.
func hclKind(it *item) string {
	if l, ok := it.val.(*ast.LiteralType); ok {
		switch l.Token.Type {
		case token.STRING, token.HEREDOC:
			return "string"
		case token.NUMBER:
			return "int"
		case token.FLOAT:
			return "float64"
		case token.BOOL:
			return "bool"
		}
	}
	return "slice"
}

// emptyString reports whether it is the quoted string "".
func emptyString(it *item) bool {
	l, ok := it.val.(*ast.LiteralType)
	if !ok || l.Token.Type != token.STRING {
		return false
	}
	v, _ := tokValue(l.Token).(string)
	return v == ""
}
