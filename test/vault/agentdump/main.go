// Command agentdump prints what Vault Agent 1.21's loader decodes from
// configuration paths (files or directories), as one JSON object on
// stdout, or "error: <message>" and exit 1 when the loader refuses them.
// rotor's loader tests compare the values rotor decodes (which sinks, which
// templates, which method) with Vault Agent's, for the wrapper and legacy
// forms its loader takes.
//
// It runs LoadConfigCheckDuplicates for each path merged onto NewConfig()
// in order, then ValidateConfig: agentcheck's first stage, without the
// later ones.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	ctconfig "github.com/hashicorp/consul-template/config"
	agentConfig "github.com/hashicorp/vault/command/agent/config"
)

// dump is the subset of Vault Agent's Config rotor compares: each part in
// plain JSON types.
type dump struct {
	ExitAfterAuth bool                `json:"exit_after_auth"`
	PidFile       string              `json:"pid_file"`
	Vault         map[string]any      `json:"vault,omitempty"`
	Method        map[string]any      `json:"method,omitempty"`
	Sinks         []map[string]any    `json:"sinks,omitempty"`
	Templates     []map[string]any    `json:"templates,omitempty"`
	Listeners     []map[string]string `json:"listeners,omitempty"`
	Cache         bool                `json:"cache"`
	APIProxy      bool                `json:"api_proxy"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: agentdump CONFIG [CONFIG...]")
		os.Exit(2)
	}
	cfg := agentConfig.NewConfig()
	for _, p := range os.Args[1:] {
		c, _, err := agentConfig.LoadConfigCheckDuplicates(p)
		if err != nil {
			fail(fmt.Errorf("error loading configuration from %s: %w", p, err))
		}
		cfg = cfg.Merge(c)
	}
	if err := cfg.ValidateConfig(); err != nil {
		fail(fmt.Errorf("error validating configuration: %w", err))
	}
	d := dump{ExitAfterAuth: cfg.ExitAfterAuth, Cache: cfg.Cache != nil, APIProxy: cfg.APIProxy != nil}
	if cfg.SharedConfig != nil {
		d.PidFile = cfg.PidFile
		for _, l := range cfg.Listeners {
			d.Listeners = append(d.Listeners, map[string]string{"type": string(l.Type), "address": l.Address})
		}
	}
	if v := cfg.Vault; v != nil {
		d.Vault = map[string]any{"address": v.Address, "tls_skip_verify": v.TLSSkipVerify, "namespace": v.Namespace, "ca_cert": v.CACert}
	}
	if a := cfg.AutoAuth; a != nil {
		if m := a.Method; m != nil {
			d.Method = map[string]any{"type": m.Type, "mount_path": m.MountPath, "exit_on_err": m.ExitOnError,
				"namespace": m.Namespace, "min_backoff": m.MinBackoff.String(), "max_backoff": m.MaxBackoff.String(),
				"wrap_ttl": m.WrapTTL.String(), "config": m.Config}
		}
		for _, s := range a.Sinks {
			d.Sinks = append(d.Sinks, map[string]any{"type": s.Type, "wrap_ttl": s.WrapTTL.String(), "dh_type": s.DHType,
				"dh_path": s.DHPath, "config": s.Config})
		}
	}
	for _, t := range cfg.Templates {
		d.Templates = append(d.Templates, templateMap(t))
	}
	b, err := json.Marshal(d)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

// templateMap is a template's fields that are set, under consul-template's
// key names, with modes in octal and durations as text.
func templateMap(t *ctconfig.TemplateConfig) map[string]any {
	m := map[string]any{}
	str := map[string]*string{"source": t.Source, "contents": t.Contents, "destination": t.Destination,
		"user": t.User, "group": t.Group, "left_delimiter": t.LeftDelim, "right_delimiter": t.RightDelim,
		"sandbox_path": t.SandboxPath}
	for k, p := range str {
		if p != nil {
			m[k] = *p
		}
	}
	flags := map[string]*bool{"backup": t.Backup, "create_dest_dirs": t.CreateDestDirs,
		"error_on_missing_key": t.ErrMissingKey, "error_fatal": t.ErrFatal}
	for k, p := range flags {
		if p != nil {
			m[k] = *p
		}
	}
	if t.Perms != nil {
		m["perms"] = fmt.Sprintf("%o", *t.Perms)
	}
	if t.Uid != nil {
		m["uid"] = *t.Uid
	}
	if t.Gid != nil {
		m["gid"] = *t.Gid
	}
	if len(t.Command) > 0 {
		m["command"] = []string(t.Command)
	}
	if t.CommandTimeout != nil {
		m["command_timeout"] = t.CommandTimeout.String()
	}
	if w := t.Wait; w != nil {
		if w.Min != nil {
			m["wait_min"] = w.Min.String()
		}
		if w.Max != nil {
			m["wait_max"] = w.Max.String()
		}
	}
	if len(t.FunctionDenylist) > 0 || len(t.FunctionDenylistDeprecated) > 0 {
		m["function_denylist"] = append(append([]string(nil), t.FunctionDenylist...), t.FunctionDenylistDeprecated...)
	}
	return m
}

func fail(err error) {
	fmt.Printf("error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	os.Exit(1)
}
