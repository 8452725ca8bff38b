package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Error carries every problem found in a configuration. Its message lists
// them one per line as "file:line:col: summary: detail".
type Error struct {
	Diags hcl.Diagnostics
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, d := range e.Diags.Errs() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(formatDiag(d.(*hcl.Diagnostic)))
	}
	return b.String()
}

// Problems returns the problems one per entry, each naming its position.
func (e *Error) Problems() []string {
	var out []string
	for _, d := range e.Diags.Errs() {
		out = append(out, formatDiag(d.(*hcl.Diagnostic)))
	}
	return out
}

func formatDiag(d *hcl.Diagnostic) string {
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	if d.Subject != nil {
		return fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, msg)
	}
	return msg
}

// Env looks up an environment variable; os.LookupEnv in production, a map in tests.
type Env func(string) (string, bool)

// Load reads the given files and directories (a directory contributes its
// *.hcl and *.json files in name order), merges them, applies environment
// overrides from env, fills defaults and validates. On failure the error is
// an *Error listing every problem.
func Load(paths []string, env Env, opts ...Option) (*Config, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if len(paths) == 0 && o.argv == nil {
		return nil, errors.New("no configuration given: use -config FILE (may be repeated, or name a directory)")
	}
	if env == nil {
		env = os.LookupEnv
	}
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	var parsed []*hcl.File
	for _, name := range files {
		var f *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(name, ".json") {
			f, d = parser.ParseJSONFile(name)
		} else {
			f, d = parser.ParseHCLFile(name)
		}
		diags = append(diags, d...)
		if f != nil {
			parsed = append(parsed, f)
		}
	}
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	cfg := &Config{Files: files}
	diags = append(diags, decodeRoot(hcl.MergeFiles(parsed), cfg)...)
	diags = append(diags, o.apply(cfg)...)
	applyEnv(cfg, env)
	applyDefaults(cfg)
	diags = append(diags, validate(cfg)...)
	if diags.HasErrors() {
		return nil, &Error{Diags: diags}
	}
	return cfg, nil
}

// expand turns -config arguments into a list of files.
func expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", p, errors.Unwrap(err))
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("config directory %s: %w", p, err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if !e.IsDir() && (strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".json")) {
				names = append(names, filepath.Join(p, n))
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("config directory %s holds no *.hcl or *.json file", p)
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out, nil
}

// applyEnv lets the environment override the vault block: VAULT_* first,
// then BAO_* (OpenBao's names); both win over the config file, as in
// Vault Agent.
func applyEnv(cfg *Config, env Env) {
	get := func(name string) (string, bool) {
		if v, ok := env("VAULT_" + name); ok && v != "" {
			return v, true
		}
		if v, ok := env("BAO_" + name); ok && v != "" {
			return v, true
		}
		return "", false
	}
	set := func(name string, dst *string) {
		if v, ok := get(name); ok {
			*dst = v
		}
	}
	v := &cfg.Vault
	set("ADDR", &v.Address)
	set("CACERT", &v.CACert)
	set("CAPATH", &v.CAPath)
	set("CLIENT_CERT", &v.ClientCert)
	set("CLIENT_KEY", &v.ClientKey)
	set("NAMESPACE", &v.Namespace)
	set("TLS_SERVER_NAME", &v.TLSServerName)
	if s, ok := get("SKIP_VERIFY"); ok {
		switch strings.ToLower(s) {
		case "1", "true", "t", "yes":
			v.TLSSkipVerify = true
		case "0", "false", "f", "no":
			v.TLSSkipVerify = false
		}
	}
	if t, ok := get("TOKEN"); ok {
		cfg.Token = Secret(t)
	}
}

// pos formats a range's start as file:line:col.
func pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// Option changes how Load builds the configuration.
type Option func(*options)

type options struct {
	argv []string
	env  []string // NAME=TEMPLATE
}

// WithExec is `rotor exec`: argv is the command to run once, env holds
// NAME=TEMPLATE pairs from -env flags. A config file then becomes
// optional (VAULT_TOKEN can authenticate), and must not have its own exec.
func WithExec(argv []string, env []string) Option {
	return func(o *options) { o.argv, o.env = argv, env }
}

func (o options) apply(cfg *Config) hcl.Diagnostics {
	if o.argv == nil {
		return nil
	}
	var diags hcl.Diagnostics
	cli := hcl.Range{Filename: "command line"}
	if cfg.Exec != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting options",
			Detail: "rotor exec runs the command given after --; remove the config's exec block.", Subject: cfg.Exec.Range.Ptr()})
	}
	if len(o.argv) == 0 || o.argv[0] == "" {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing command",
			Detail: "rotor exec needs a command after --, e.g. rotor exec -config rotor.hcl -- psql -c 'select 1'."})
		return diags
	}
	cfg.Exec = &Exec{Command: Command{Argv: o.argv, Range: cli}, RestartOnSecretChanges: "never", Range: cli}
	// A one-shot command leaves nothing behind: its leases and rotor's
	// own login token are revoked when it exits.
	cfg.RevokeOnShutdown, cfg.RevokeTokenOnShutdown = true, true
	for _, kv := range o.env {
		name, tpl, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -env",
				Detail: fmt.Sprintf("-env %q: use NAME='{{ template }}'.", kv)})
			continue
		}
		cfg.EnvTemplates = append(cfg.EnvTemplates, &EnvTemplate{Name: name, Contents: tpl, Range: cli})
	}
	return diags
}
