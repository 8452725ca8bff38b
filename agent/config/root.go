package config

import (
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

// part is what one file contributes, before files are merged.
type part struct {
	cfg            *Config
	vault          *item // the vault block, if the file has one
	templateConfig bool  // the file has a template_config block
	pidFile        bool
	state          *item
	strict         bool // rotor { strict = true }
}

// sharedIgnored are keys of Vault's shared server/agent configuration that
// Vault Agent parses and does nothing with, or that rotor does not act on.
var sharedIgnored = map[string]string{
	"disable_mlock":                 "Vault Agent parses it and does not use it",
	"default_max_request_duration":  "Vault Agent parses it and does not use it",
	"cluster_name":                  "Vault Agent uses it only as a telemetry label",
	"administrative_namespace_path": "Vault Agent parses it and does not use it",
	"hsm":                           "Vault Agent parses the seal block and does not use it",
	"seal":                          "Vault Agent parses the seal block and does not use it",
	"kms":                           "Vault Agent parses the kms block and does not use it",
	"entropy":                       "Vault Agent parses the entropy block and does not use it",
	"user_lockout":                  "Vault Agent parses the user_lockout block and does not use it",
	"cloud":                         "Vault Agent parses the HCP cloud block and does not use it",
}

var rootSpec = spec{
	known: []string{"pid_file", "exit_after_auth", "revoke_on_shutdown", "revoke_token_on_shutdown",
		"log_level", "log_format", "log_file", "log_rotate_bytes", "log_rotate_duration", "log_rotate_max_files",
		"disable_idle_connections", "disable_keep_alives",
		"vault", "auto_auth", "template", "template_config", "exec", "env_template",
		"cache", "api_proxy", "listener", "state", "templates", "rotor", "telemetry"},
	ignored: sharedIgnored,
}

// rotorSpec is rotor's own top-level block, which Vault Agent ignores:
// settings that change how rotor reads its configuration.
var rotorSpec = spec{known: []string{"strict", "expand_env"}}

// decodeFile decodes one parsed file.
func (d *decoder) decodeFile(list *ast.ObjectList) *part {
	start := Pos{Filename: d.file, Line: 1, Column: 1}
	p := &part{cfg: &Config{}}
	cfg := p.cfg
	cfg.Vault.NumRetries = -2 // not set by this file
	b := d.newBlock(list, start, "top level", rootSpec)
	const top = "top level"
	if it := b.single("rotor"); it != nil {
		rb := b.body(it, "rotor", rotorSpec)
		if a := rb.one("strict"); a != nil {
			d.strictBool(a, "rotor", "strict", &p.strict)
		}
		if a := rb.one("expand_env"); a != nil {
			var v bool
			d.strictBool(a, "rotor", "expand_env", &v) // read before decoding: see wantsEnv
		}
	}
	if it := b.one("pid_file"); it != nil {
		p.pidFile = d.str(it, top, "pid_file", &cfg.PidFile)
	}
	if it := b.one("exit_after_auth"); it != nil {
		d.strictBool(it, top, "exit_after_auth", &cfg.ExitAfterAuth)
	}
	if it := b.one("revoke_on_shutdown"); it != nil {
		d.strictBool(it, top, "revoke_on_shutdown", &cfg.RevokeOnShutdown)
	}
	if it := b.one("revoke_token_on_shutdown"); it != nil {
		d.strictBool(it, top, "revoke_token_on_shutdown", &cfg.RevokeTokenOnShutdown)
	}
	d.decodeLogging(b, cfg)
	for _, k := range []string{"disable_idle_connections", "disable_keep_alives"} {
		if it := b.one(k); it != nil {
			var v []string
			if d.strList(it, top, k, false, &v) {
				d.checkSubsystems(it.vpos, k, v)
				if k == "disable_idle_connections" {
					cfg.DisableIdleConnections = v
				} else {
					cfg.DisableKeepAlives = v
				}
			}
		}
	}
	if it := b.single("vault"); it != nil {
		p.vault = it
		d.decodeVault(b.blockBody(it, "vault", vaultSpec), it, &cfg.Vault)
	}
	if it := b.single("auto_auth"); it != nil {
		cfg.AutoAuth = d.decodeAutoAuth(b.blockBody(it, "auto_auth", autoAuthSpec), it)
	}
	if it := b.single("template_config"); it != nil {
		p.templateConfig = true
		d.decodeTemplateConfig(b.blockBody(it, "template_config", templateConfigSpec), &cfg.TemplateConfig)
	}
	for _, it := range b.all("template") {
		cfg.Templates = append(cfg.Templates, d.decodeTemplate(b.blockBody(it, "template", templateSpec), it))
	}
	d.decodeTemplatesWrapper(b, cfg)
	if it := b.single("exec"); it != nil {
		cfg.Exec = d.decodeExec(b.blockBody(it, "exec", execSpec), it)
	}
	for _, it := range b.all("env_template") {
		if e := d.decodeEnvTemplate(b, it); e != nil {
			cfg.EnvTemplates = append(cfg.EnvTemplates, e)
		}
	}
	if it := b.single("cache"); it != nil {
		cfg.Cache = d.decodeCache(b.blockBody(it, "cache", cacheSpec), it)
	}
	if it := b.single("api_proxy"); it != nil {
		cfg.APIProxy = d.decodeAPIProxy(b.blockBody(it, "api_proxy", apiProxySpec), it)
	}
	for _, it := range b.all("listener") {
		if l := d.decodeListener(b, it); l != nil {
			cfg.Listeners = append(cfg.Listeners, l)
		}
	}
	if it := b.single("telemetry"); it != nil {
		d.decodeTelemetry(b, it)
	}
	if it := b.single("state"); it != nil {
		p.state = it
		cfg.State = &State{Range: it.pos}
		d.decodeState(b.body(it, "state", stateSpec), cfg.State)
	}
	// As Vault Agent does per file: a cache that uses the auto-auth token
	// and no api_proxy block stands for an api_proxy block saying the same.
	if c := cfg.Cache; c != nil && cfg.APIProxy == nil && c.UseAutoAuthToken {
		cfg.APIProxy = &APIProxy{UseAutoAuthToken: true, ForceAutoAuthToken: c.ForceAutoAuthToken, Range: c.Range}
	}
	return p
}

func (d *decoder) decodeLogging(b *block, cfg *Config) {
	const top = "top level"
	if it := b.one("log_level"); it != nil && d.str(it, top, "log_level", &cfg.LogLevel) {
		lv, ok := normalizeLevel(cfg.LogLevel)
		switch {
		case !ok:
			d.ds.errorf(it.vpos, "Invalid value", "log_level %q: use trace, debug, info, warn or error.", cfg.LogLevel)
		case lv != strings.ToLower(strings.TrimSpace(cfg.LogLevel)) && lv != "":
			d.ds.warnf(it.vpos, "Log level", "log_level %q: rotor logs at %q, its closest level.", cfg.LogLevel, lv)
		}
		cfg.LogLevel = lv
	}
	if it := b.one("log_format"); it != nil && d.str(it, top, "log_format", &cfg.LogFormat) {
		switch strings.ToLower(strings.TrimSpace(cfg.LogFormat)) {
		case "", "standard", "json":
			cfg.LogFormat = strings.ToLower(strings.TrimSpace(cfg.LogFormat))
		default:
			d.ds.errorf(it.vpos, "Invalid value", "log_format %q: use \"standard\" or \"json\".", cfg.LogFormat)
		}
	}
	if it := b.one("log_file"); it != nil && d.str(it, top, "log_file", &cfg.LogFile) {
		d.ds.warnf(it.pos, "Ignored by rotor", "log_file: Vault Agent also writes its log to this file; rotor logs to stderr only and ignores it.")
	}
	if it := b.one("log_rotate_bytes"); it != nil {
		d.strictInt(it, top, "log_rotate_bytes", &cfg.LogRotateBytes)
	}
	if it := b.one("log_rotate_max_files"); it != nil {
		d.strictInt(it, top, "log_rotate_max_files", &cfg.LogRotateMaxFiles)
	}
	if it := b.one("log_rotate_duration"); it != nil {
		var s string
		if d.str(it, top, "log_rotate_duration", &s) {
			// parseutil.ParseDurationSecond, which Vault Agent uses here,
			// takes a negative duration; rotor ignores the value.
			if v, err := parseDurationSecond(strings.TrimPrefix(strings.TrimSpace(s), "-")); err != nil {
				d.ds.errorf(it.vpos, "Invalid duration", "log_rotate_duration: %v.", err)
			} else {
				cfg.LogRotateDuration = v
			}
		}
	}
	for _, k := range []string{"log_rotate_bytes", "log_rotate_duration", "log_rotate_max_files"} {
		if it := b.one(k); it != nil {
			d.ds.warnf(it.pos, "Ignored by rotor", "%s: Vault Agent rotates its log_file with it; rotor logs to stderr and ignores it.", k)
		}
	}
}

// normalizeLevel maps Vault Agent's log levels onto rotor's four.
func normalizeLevel(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", true
	case "trace", "debug":
		return "debug", true
	case "info", "notice":
		return "info", true
	case "warn", "warning":
		return "warn", true
	case "err", "error":
		return "error", true
	}
	return "", false
}

// checkSubsystems checks disable_idle_connections / disable_keep_alives
// values as Vault Agent does.
func (d *decoder) checkSubsystems(at Pos, key string, v []string) {
	for _, s := range v {
		switch s {
		case "auto-auth", "caching", "proxying", "templating", "":
		default:
			d.ds.errorf(at, "Invalid value", "%s: unknown value %q; use \"auto-auth\", \"caching\", \"proxying\" or \"templating\".", key, s)
		}
	}
}
