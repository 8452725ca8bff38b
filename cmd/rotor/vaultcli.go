package main

// rotor started under the name "vault" (the vault-k8s image variant
// installs it as /bin/vault) answers the few Vault CLI commands the Vault
// Agent injector runs in its containers, so the unchanged injector can run
// rotor with one annotation (docs/kubernetes-injector.md):
//
//	vault agent -config=FILE        the sidecar and the init container
//	vault proxy -config=FILE        the injector's Vault Proxy form
//	vault token revoke -self        the preStop hook (agent-revoke-on-shutdown)
//	vault version
//
// Everything else fails with a message naming the real Vault CLI: a
// half-imitated command would be worse than none.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rotorproject/rotor/agent/config"
)

// vaultName is the program name that selects the Vault CLI commands.
const vaultName = "vault"

// Exit codes of the Vault CLI: 1 for a local problem (usage, files), 2 for
// an error answered by Vault.
const (
	exitVaultLocal  = 1
	exitVaultRemote = 2
)

// invokedAsVault reports whether argv0 is rotor's "vault" name (a link or
// copy named vault, vault.exe on Windows).
func invokedAsVault(argv0 string) bool {
	return strings.TrimSuffix(filepath.Base(argv0), ".exe") == vaultName
}

const vaultUsage = `This "vault" is rotor (a Vault Agent replacement), installed under Vault's name
for the Vault Agent injector (vault-k8s). It answers only:

  vault agent -config=FILE [-log-level=L] [-log-format=F] [-exit-after-auth]
  vault proxy -config=FILE [-log-level=L] [-log-format=F] [-exit-after-auth]
  vault token revoke -self [-address=URL] [-ca-cert=F] [-ca-path=D] [-client-cert=F]
                           [-client-key=F] [-tls-server-name=N] [-tls-skip-verify] [-namespace=NS]
  vault version

For any other command use the real Vault CLI
(https://developer.hashicorp.com/vault/docs/commands); rotor's own commands
are under its own name: rotor -help.
`

// runVault runs a Vault CLI command line (args without the program name).
func runVault(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, vaultUsage)
		return exitVaultLocal
	}
	switch args[0] {
	case "agent":
		return asService(func(ctx context.Context) int { return vaultAgent(ctx, args[1:], stderr) })
	case "proxy":
		return asService(func(ctx context.Context) int { return vaultProxy(ctx, args[1:], stderr) })
	case "token":
		if len(args) > 1 && args[1] == "revoke" {
			return vaultTokenRevoke(args[2:], stdout, stderr)
		}
	case "version", "-version", "--version", "-v":
		fmt.Fprint(stdout, versionText(version, readBuildInfo()))
		return exitOK
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, vaultUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "vault: %s is not available here.\n\n%s", commandWords(args), vaultUsage)
	return exitVaultLocal
}

// wordRE is a command name: only such words are repeated in a message, so
// a secret given as an argument (vault login TOKEN) is never printed.
var wordRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// commandWords names the command in args: its leading plain words.
func commandWords(args []string) string {
	var words []string
	for _, a := range args {
		if !wordRE.MatchString(a) || len(words) == 2 {
			break
		}
		words = append(words, a)
	}
	if len(words) == 0 {
		return "this command"
	}
	return fmt.Sprintf("%q", vaultName+" "+strings.Join(words, " "))
}

// vaultRun holds the flags vault agent and vault proxy share.
type vaultRun struct {
	configs       configFlags
	level, format string // as given: -log-level / VAULT_LOG_LEVEL, -log-format / VAULT_LOG_FORMAT
	exitAfterAuth bool
}

// parseVaultRun parses the flags of vault agent or vault proxy; ok is
// false when the command must stop with code.
func parseVaultRun(name string, args []string, stderr io.Writer) (r *vaultRun, code int, ok bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "\nOnly these flags of %q are understood here:\n", name)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+vaultUsage)
	}
	r = &vaultRun{}
	fs.Var(&r.configs, "config", "configuration file or directory (repeatable)")
	level := fs.String("log-level", "", "trace, debug, info, warn or error (default $VAULT_LOG_LEVEL, then the config's log_level)")
	format := fs.String("log-format", "", "standard or json (default $VAULT_LOG_FORMAT, then standard)")
	fs.BoolVar(&r.exitAfterAuth, "exit-after-auth", false, "render once and exit, as exit_after_auth = true")
	if err := parseQuiet(fs, args, stderr); err != nil {
		if err == flag.ErrHelp {
			return nil, exitOK, false
		}
		return nil, exitVaultLocal, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: too many arguments (expected 0, got %d)\n", name, fs.NArg())
		return nil, exitVaultLocal, false
	}
	if len(r.configs) == 0 {
		fmt.Fprintf(stderr, "%s: at least one config path must be specified with -config\n", name)
		return nil, exitVaultLocal, false
	}
	r.level, r.format = envDefault(*level, "VAULT_LOG_LEVEL"), envDefault(*format, "VAULT_LOG_FORMAT")
	return r, 0, true
}

// envDefault is v, or the variable name's value when v is empty: a flag
// wins over its environment variable, as in the Vault CLI.
func envDefault(v, name string) string {
	if v != "" {
		return v
	}
	return os.Getenv(name)
}

// vaultLogLevel maps a Vault log level to rotor's: rotor has no trace
// level and logs at debug instead. "" stays "" (the config's log_level).
func vaultLogLevel(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "trace", "debug":
		return "debug", nil
	case "notice", "info":
		return "info", nil
	case "warn", "warning":
		return "warn", nil
	case "err", "error":
		return "error", nil
	}
	return "", fmt.Errorf("unknown log level %q (-log-level or VAULT_LOG_LEVEL): use trace, debug, info, warn or error", s)
}

// vaultLogFormat maps a Vault log format to rotor's: standard is rotor's
// text format (key=value), json its JSON lines.
func vaultLogFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "standard":
		return "text", nil
	case "json":
		return "json", nil
	}
	return "", fmt.Errorf("unknown log format %q (-log-format or VAULT_LOG_FORMAT): use standard or json", s)
}

// logging builds rotor's logger from the Vault flags and variables.
func (r *vaultRun) logging(name string, stderr io.Writer) (*logging, bool) {
	level, err := vaultLogLevel(r.level)
	if err == nil {
		var format string
		if format, err = vaultLogFormat(r.format); err == nil {
			lg, lerr := newLogging(stderr, orDefault(level, "info"), format, "")
			if lerr == nil {
				// A level from the flag or VAULT_LOG_LEVEL wins over the
				// config's log_level, as in Vault Agent.
				lg.flagSet = level != ""
				return lg, true
			}
			err = lerr
		}
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return nil, false
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// vaultAgent is `vault agent`: rotor's agent on the same configuration.
func vaultAgent(ctx context.Context, args []string, stderr io.Writer) int {
	return vaultRunAgent(ctx, "vault agent", args, stderr, os.LookupEnv, nil)
}

// vaultProxy is `vault proxy`: Vault Proxy is Vault Agent's listener,
// api_proxy and cache without templates or exec, so rotor runs the same
// configuration with those removed (Vault Proxy ignores them; rotor says
// so), and reads Vault Proxy's VAULT_PROXY_DISABLE_* variables in place
// of Vault Agent's VAULT_AGENT_DISABLE_*.
func vaultProxy(ctx context.Context, args []string, stderr io.Writer) int {
	env := func(name string) (string, bool) {
		if rest, ok := strings.CutPrefix(name, "VAULT_AGENT_DISABLE_"); ok {
			return os.LookupEnv("VAULT_PROXY_DISABLE_" + rest)
		}
		return os.LookupEnv(name)
	}
	return vaultRunAgent(ctx, "vault proxy", args, stderr, env, proxyOnly)
}

// proxyOnly removes what Vault Proxy does not run and returns what it
// removed, for a warning.
func proxyOnly(cfg *config.Config) []string {
	var dropped []string
	if len(cfg.Templates) > 0 {
		dropped = append(dropped, fmt.Sprintf("%d template block(s)", len(cfg.Templates)))
	}
	if len(cfg.EnvTemplates) > 0 {
		dropped = append(dropped, fmt.Sprintf("%d env_template block(s)", len(cfg.EnvTemplates)))
	}
	if cfg.Exec != nil {
		dropped = append(dropped, "the exec block")
	}
	cfg.Templates, cfg.EnvTemplates, cfg.Exec = nil, nil, nil
	return dropped
}

// vaultRunAgent loads the configuration with env and runs the agent;
// trim, if set, changes each loaded configuration (the first one and
// every reload's) and names what it removed.
func vaultRunAgent(ctx context.Context, name string, args []string, stderr io.Writer, env config.Env, trim func(*config.Config) []string) int {
	r, code, ok := parseVaultRun(name, args, stderr)
	if !ok {
		return code
	}
	lg, ok := r.logging(name, stderr)
	if !ok {
		return exitVaultLocal
	}
	load := func() (*config.Config, error) {
		cfg, err := config.Load(r.configs, env)
		if err != nil {
			return nil, err
		}
		if r.exitAfterAuth {
			cfg.ExitAfterAuth = true
		}
		if trim != nil {
			if dropped := trim(cfg); len(dropped) > 0 {
				lg.log.Warn(name+": Vault Proxy does not render templates or run a command; ignored as it does", "ignored", strings.Join(dropped, ", "))
			}
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		printConfigError(stderr, err)
		return exitFailed
	}
	return runAgent(ctx, cfg, lg, load, nil)
}

// quotedValue is a value the flag package quotes in its errors.
var quotedValue = regexp.MustCompile(`"[^"]*"`)

// parseQuiet parses fs like fs.Parse, but its error names the flag and
// never the value: under the vault name a mistyped flag may carry a token
// (-self=hvs....). The usage is printed on -help as usual.
func parseQuiet(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
	case err != nil:
		fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), quotedValue.ReplaceAllString(err.Error(), "(value not shown)"))
		fs.Usage()
	}
	return err
}
