package config

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
)

// Env looks up an environment variable; os.LookupEnv in production, a map in tests.
type Env func(string) (string, bool)

// Load reads the given files and directories (a directory contributes its
// *.hcl and *.json files in name order, less editors' temporary files),
// merges them with Vault Agent's rules, applies environment overrides from
// env, fills defaults and validates. On failure the error is an *Error
// listing every problem; warnings are in the returned Config's Warnings.
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
	var ds diags
	files := expand(paths, &ds)
	var parts []*part
	var expanded []expansion
	allEnv := o.expandEnv || truthy(env(ExpandEnvVar))
	if v, set := env(ExpandEnvVar); set && !allEnv && !falsy(v) {
		// A typo must not leave ${env:...} literal in, say, an address.
		ds.errorf(Pos{Filename: "$" + ExpandEnvVar}, "Invalid environment variable",
			"%s=%q is neither on (1, true, yes, on) nor off (0, false, no, off, empty).", ExpandEnvVar, v)
	}
	strict := o.strict
	for _, name := range files {
		b, ok := readFile(name, &ds)
		if !ok {
			continue
		}
		list, ok := parseFile(name, b, &ds)
		if !ok {
			continue
		}
		if allEnv || wantsEnv(list) {
			(&envExpander{file: name, env: env, ds: &ds, done: &expanded}).list(list)
		}
		p := decodeSafely(name, list, &ds)
		strict = strict || p.strict
		parts = append(parts, p)
	}
	// Files that did not parse leave nothing to check across files; files
	// that parsed with problems are still checked as a whole, minus the
	// rules a missing block would set off.
	if len(parts) < len(files) {
		redact(&ds, expanded)
		return nil, &Error{Diags: append(ds.sorted(SeverityError), ds.sorted(SeverityWarning)...)}
	}
	partial := ds.hasErrors()
	cfg := merge(parts, &ds)
	cfg.Files = files
	o.apply(cfg, &ds)
	applyEnv(cfg, env, &ds)
	applyDefaults(cfg)
	validate(cfg, o.argv != nil, partial, &ds)
	if strict {
		ds.strict()
	}
	redact(&ds, expanded)
	if ds.hasErrors() {
		return nil, &Error{Diags: append(ds.sorted(SeverityError), ds.sorted(SeverityWarning)...)}
	}
	cfg.Warnings = ds.sorted(SeverityWarning)
	return cfg, nil
}

// truthy reads an on/off environment variable: 1, true, yes or on.
// falsy reports whether v turns a switch off: empty, 0, false, no, off.
func falsy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return true
	}
	return false
}

func truthy(v string, set bool) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return set
	}
	return false
}

// decodeSafely decodes one file; a panic in the walk (a bug, not a user
// error) becomes a problem at the file instead of crashing rotor.
func decodeSafely(name string, list *ast.ObjectList, ds *diags) (p *part) {
	defer func() {
		if r := recover(); r != nil {
			ds.errorf(Pos{Filename: name, Line: 1, Column: 1}, "Internal error", "rotor could not decode this file (%v); please report it.", r)
			p = &part{cfg: &Config{}}
		}
	}()
	d := &decoder{file: name, ds: ds}
	return d.decodeFile(list)
}

// expand turns -config arguments into a list of files. A directory gives
// its *.hcl and *.json files (not subdirectories, not editors' temporary
// files such as x.hcl~ or .#x.hcl), sorted by name.
func expand(paths []string, ds *diags) []string {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			ds.errorf(Pos{Filename: p}, "Cannot read configuration", "%v.", unwrapPath(err))
			continue
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			ds.errorf(Pos{Filename: p}, "Cannot read configuration directory", "%v.", unwrapPath(err))
			continue
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || !(strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".json")) || isTemporaryFile(n) {
				continue
			}
			names = append(names, filepath.Join(p, n))
		}
		sort.Strings(names)
		out = append(out, names...)
	}
	return out
}

// isTemporaryFile reports vim's and emacs's temporary file names, which
// Vault Agent skips in a configuration directory.
func isTemporaryFile(name string) bool {
	return strings.HasSuffix(name, "~") || strings.HasPrefix(name, ".#") ||
		(strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"))
}

// applyEnv lets the environment override the vault block: VAULT_* first,
// then BAO_* (OpenBao's names); both win over the config file, as in
// Vault Agent. It also reads VAULT_AGENT_DISABLE_IDLE_CONNECTIONS and
// VAULT_AGENT_DISABLE_KEEP_ALIVES, and the sinks' aad_env_var.
func applyEnv(cfg *Config, env Env, ds *diags) {
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
	if a, ok := get("ADDR"); ok {
		v.Address, v.AddressRange = a, Pos{Filename: "environment"}
	}
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
	for _, e := range []struct {
		name string
		dst  *[]string
	}{{"VAULT_AGENT_DISABLE_IDLE_CONNECTIONS", &cfg.DisableIdleConnections}, {"VAULT_AGENT_DISABLE_KEEP_ALIVES", &cfg.DisableKeepAlives}} {
		if s, ok := env(e.name); ok && s != "" {
			var list []string
			for _, x := range strings.Split(strings.ToLower(s), ",") {
				list = append(list, strings.TrimSpace(x))
			}
			(&decoder{ds: ds}).checkSubsystems(Pos{Filename: "environment"}, e.name, list)
			*e.dst = list
		}
	}
	if cfg.AutoAuth != nil {
		for _, s := range cfg.AutoAuth.Sinks {
			if s.AADEnvVar != "" {
				a, _ := env(s.AADEnvVar)
				s.AAD = Secret(a)
			}
		}
	}
}

// Option changes how Load builds the configuration.
type Option func(*options)

type options struct {
	argv      []string
	env       []string // NAME=TEMPLATE
	strict    bool
	expandEnv bool
}

// WithStrict makes every warning an error (-strict, or rotor { strict =
// true } in any file): a configuration with anything Vault Agent or rotor
// would ignore is refused.
func WithStrict() Option { return func(o *options) { o.strict = true } }

// WithExpandEnv expands ${env:NAME} references in every file's values
// (-expand-env; ROTOR_EXPAND_ENV=1 does the same).
func WithExpandEnv() Option { return func(o *options) { o.expandEnv = true } }

// WithExec is `rotor exec`: argv is the command to run once, env holds
// NAME=TEMPLATE pairs from -env flags. A config file then becomes
// optional (VAULT_TOKEN can authenticate), and must not have its own exec.
func WithExec(argv []string, env []string) Option {
	return func(o *options) { o.argv, o.env = argv, env }
}

func (o options) apply(cfg *Config, ds *diags) {
	if o.argv == nil {
		return
	}
	cli := Pos{Filename: "command line"}
	if cfg.Exec != nil {
		ds.errorf(cfg.Exec.Range, "Conflicting options", "rotor exec runs the command given after --; remove the config's exec block.")
	}
	if len(o.argv) == 0 || o.argv[0] == "" {
		ds.errorf(cli, "Missing command", "rotor exec needs a command after --, e.g. rotor exec -config rotor.hcl -- psql -c 'select 1'.")
		return
	}
	cfg.Exec = &Exec{Command: Command{Argv: o.argv, Range: cli}, RestartOnSecretChanges: "never", Range: cli}
	// A one-shot command leaves nothing behind: its leases and rotor's
	// own login token are revoked when it exits.
	cfg.RevokeOnShutdown, cfg.RevokeTokenOnShutdown = true, true
	for _, kv := range o.env {
		name, tpl, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			ds.errorf(cli, "Invalid -env", "-env %q: use NAME='{{ template }}'.", kv)
			continue
		}
		cfg.EnvTemplates = append(cfg.EnvTemplates, &EnvTemplate{Name: name, Contents: tpl, Range: cli})
	}
}
