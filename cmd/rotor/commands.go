package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/rotorproject/rotor/agent"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/internal/phases"
	"gopkg.in/natefinch/lumberjack.v2"
)

// configFlags is a repeatable -config flag.
type configFlags []string

func (c *configFlags) String() string     { return strings.Join(*c, ",") }
func (c *configFlags) Set(v string) error { *c = append(*c, v); return nil }

// common holds the flags every running command shares.
type common struct {
	configs configFlags
	level   *string
	format  *string
	file    *string
	load    loadFlags
}

// loadFlags change how the configuration is read.
type loadFlags struct {
	strict    *bool
	expandEnv *bool
}

func newLoadFlags(fs *flag.FlagSet) loadFlags {
	return loadFlags{
		strict:    fs.Bool("strict", false, "refuse the configuration if it has any warning (a key Vault Agent or rotor ignores)"),
		expandEnv: fs.Bool("expand-env", false, "expand ${env:NAME} in configuration values (also $"+config.ExpandEnvVar+"=1)"),
	}
}

// options are the Load options the flags ask for.
func (l loadFlags) options() []config.Option {
	var out []config.Option
	if *l.strict {
		out = append(out, config.WithStrict())
	}
	if *l.expandEnv {
		out = append(out, config.WithExpandEnv())
	}
	return out
}

func commonFlags(fs *flag.FlagSet) *common {
	c := &common{}
	fs.Var(&c.configs, "config", "configuration file or directory (repeatable)")
	c.level = fs.String("log-level", "info", "log level: debug, info, warn, error")
	c.format = fs.String("log-format", "text", "log format: text or json")
	c.file = fs.String("log-file", "", "write logs to this file (rotated at 10 MiB, 5 kept) instead of stderr")
	c.load = newLoadFlags(fs)
	return c
}

// logging builds the logger from the flags.
func (c *common) logging(fs *flag.FlagSet, stderr io.Writer) (*logging, error) {
	lg, err := newLogging(stderr, *c.level, *c.format, *c.file)
	if err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { lg.flagSet = lg.flagSet || f.Name == "log-level" })
	return lg, nil
}

// cmdAgent runs the agent until ctx is done (a Windows service's stop)
// or a signal stops it.
func cmdAgent(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := commonFlags(fs)
	once := fs.Bool("once", false, "render every template once and exit (init-container mode, as exit_after_auth = true)")
	var envConfigs configFlags
	fs.Var(&envConfigs, "config-env", "NAME: an environment variable holding a configuration, JSON or HCL, plain or base64 (repeatable)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	files, dir, err := configFromEnv(envConfigs)
	if err != nil {
		fmt.Fprintf(stderr, "rotor agent: %v\n", err)
		return exitUsage
	}
	if dir != "" {
		defer os.RemoveAll(dir)
		c.configs = append(c.configs, files...)
	}
	lg, err := c.logging(fs, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rotor agent: %v\n", err)
		return exitUsage
	}
	tr := startDevTrace(stderr)
	began := tr.rec.Begin()
	cfg, code := loadConfig(stderr, c.configs, c.load.options()...)
	tr.rec.End(phases.Config, began)
	if cfg == nil {
		return code
	}
	if *once {
		if cfg.Exec != nil {
			fmt.Fprintln(stderr, "rotor agent: -once renders and exits, so the config's exec block would never run")
			return exitUsage
		}
		cfg.ExitAfterAuth = true
	}
	reload := func() (*config.Config, error) {
		cfg, err := config.Load(c.configs, os.LookupEnv, c.load.options()...)
		if err == nil && *once {
			cfg.ExitAfterAuth = true
		}
		return cfg, err
	}
	return runAgent(ctx, cfg, lg, reload, tr)
}

// cmdExec is the one-shot pipeline form: rotor exec [-config F] [-env
// NAME='{{ tpl }}'] -- cmd args. It exits with the command's status after
// revoking every lease rotor created for it.
func cmdExec(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor exec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rotor exec [-config FILE] [-env NAME='{{ template }}' ...] -- command [args...]")
		fs.PrintDefaults()
	}
	c := commonFlags(fs)
	var envs configFlags
	fs.Var(&envs, "env", "NAME='{{ template }}': an environment variable for the command (repeatable)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	argv := fs.Args()
	if len(argv) == 0 {
		fs.Usage()
		return exitUsage
	}
	lg, err := c.logging(fs, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rotor exec: %v\n", err)
		return exitUsage
	}
	cfg, err := config.Load(c.configs, os.LookupEnv, append(c.load.options(), config.WithExec(argv, envs))...)
	if err != nil {
		printConfigError(stderr, err)
		return exitFailed
	}
	return runAgent(context.Background(), cfg, lg, nil, nil)
}

func loadConfig(stderr io.Writer, configs []string, opts ...config.Option) (*config.Config, int) {
	cfg, err := config.Load(configs, os.LookupEnv, opts...)
	if err != nil {
		printConfigError(stderr, err)
		return nil, exitFailed
	}
	return cfg, exitOK
}

// runAgent runs an agent until it stops, or ctx is done, and maps the
// result to an exit code: the child's own status in exec mode. tr, if
// set, is told when the agent is ready.
func runAgent(ctx context.Context, cfg *config.Config, lg *logging, reload func() (*config.Config, error), tr *devTrace) int {
	if lg.closer != nil {
		defer lg.closer.Close()
	}
	lg.apply(cfg)
	log := lg.log
	logConfigWarnings(log, cfg)
	var notify systemd
	var rec *phases.Recorder
	if tr != nil {
		rec = tr.rec
	}
	began := rec.Begin()
	a, err := agent.New(cfg, agent.Options{Logger: log, Phases: rec, OnReady: func() {
		tr.ready()
		if err := notify.ready(); err != nil {
			log.Warn("systemd notify failed", "error", err)
		}
	}})
	rec.End(phases.Setup, began)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitFailed
	}
	ctx, stop := handleSignals(ctx, a, lg, notify, reload)
	defer stop()
	go func() {
		// A failed ping stops the watchdog loop, and systemd would then
		// restart rotor: say why.
		if err := notify.runWatchdog(ctx); err != nil {
			log.Error("systemd watchdog stopped", "error", err)
		}
	}()
	defer notify.stopping()
	log.Info("rotor starting", "version", version, "vault", agent.RedactedAddress(cfg.Vault.Address), "config", strings.Join(cfg.Files, ","))
	err = a.Run(ctx)
	if code, ok := agent.ExitCode(err); ok {
		return code
	}
	if err != nil {
		log.Error("rotor stopped", "error", err)
		return exitFailed
	}
	log.Info("rotor stopped")
	return exitOK
}

// logConfigWarnings logs what the configuration loader accepted with a
// warning (keys rotor ignores, values it changed).
func logConfigWarnings(log *slog.Logger, cfg *config.Config) {
	for _, w := range cfg.Warnings {
		log.Warn("configuration", "warning", w.String())
	}
}

// cmdRotate asks a running agent, found through its pid_file, to fetch
// every secret again (SIGUSR1; a named event on Windows), or over the
// local API only the secrets matching its argument.
func cmdRotate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "the running agent's configuration (its pid_file is used)")
	caCert := fs.String("ca-cert", "", "with a secret path: CA file that signs the local API's certificate (default $"+caCertEnv+")")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(stderr, "usage: rotor rotate -config FILE [secret-path-part]")
		return exitUsage
	}
	if fs.NArg() == 1 {
		return rotateOverAPI(configs, *caCert, fs.Arg(0), stdout, stderr)
	}
	pid, code := askAgent("rotor rotate", configs, actionRotate, stderr)
	if code != exitOK {
		return code
	}
	fmt.Fprintf(stdout, "asked rotor (pid %d) to fetch every secret again\n", pid)
	return exitOK
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "configuration file or directory (repeatable)")
	load := newLoadFlags(fs)
	online := onlineFlags(fs)
	if code, ok := parse(fs, args); !ok {
		return code
	}
	configs = append(configs, fs.Args()...)
	cfg, err := config.Load(configs, os.LookupEnv, load.options()...)
	if err != nil {
		printConfigError(stderr, err)
		return exitFailed
	}
	for _, w := range config.Warnings(cfg) {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	problems, warnings := agent.Validate(cfg)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if *online.on {
		return online.run(cfg, problems, stdout, stderr)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "rotor: %s\n", p)
		}
		return exitFailed
	}
	fmt.Fprintf(stdout, "configuration is valid (%s)\n", strings.Join(cfg.Files, ", "))
	return exitOK
}

func printConfigError(w io.Writer, err error) {
	var ce *config.Error
	if errors.As(err, &ce) {
		problems := ce.Problems()
		fmt.Fprintf(w, "rotor: the configuration has %d problem(s):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		for _, x := range ce.Warnings() {
			fmt.Fprintf(w, "warning: %s\n", x)
		}
		return
	}
	fmt.Fprintf(w, "rotor: %v\n", err)
}

// logging is the agent's logger and what a reload may change in it.
type logging struct {
	log     *slog.Logger
	level   *slog.LevelVar
	flagSet bool // -log-level was given: it wins over the config's log_level
	closer  io.Closer
}

// newLogging builds the logger: text or JSON, to w or to file (rotated
// by size), at level.
func newLogging(w io.Writer, level, format, file string) (*logging, error) {
	lg := &logging{level: new(slog.LevelVar)}
	if err := lg.level.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: use debug, info, warn or error", level)
	}
	if file != "" {
		// Open it now, so an unwritable path is a start-up error, not a
		// silent loss of every log line.
		f := &lumberjack.Logger{Filename: file, MaxSize: logFileMaxMB, MaxBackups: logFileKeep}
		if _, err := f.Write(nil); err != nil {
			return nil, fmt.Errorf("-log-file: %w", err)
		}
		w, lg.closer = f, f
	}
	o := &slog.HandlerOptions{Level: lg.level}
	switch format {
	case "text":
		lg.log = slog.New(slog.NewTextHandler(w, o))
	case "json":
		lg.log = slog.New(slog.NewJSONHandler(w, o))
	default:
		return nil, fmt.Errorf("-log-format %q: use text or json", format)
	}
	return lg, nil
}

// Log files rotate at 10 MiB, keeping 5 old ones.
const (
	logFileMaxMB = 10
	logFileKeep  = 5
)

// apply sets the config's log_level unless -log-level was given.
func (lg *logging) apply(cfg *config.Config) {
	if lg.flagSet || cfg.LogLevel == "" {
		return
	}
	lg.level.UnmarshalText([]byte(cfg.LogLevel))
}

// rotateOverAPI asks the local API (listener with enable_rotate) to
// rotate the secrets whose path contains match.
func rotateOverAPI(configs []string, caCert, match string, stdout, stderr io.Writer) int {
	client, base, err := statusClient("", caCert, configs)
	if err != nil {
		fmt.Fprintf(stderr, "rotor rotate: rotating one secret needs the local API: %v\n", err)
		return exitFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := apiCall(ctx, client, "POST", base+"/agent/v1/rotate?secret="+url.QueryEscape(match))
	if err != nil {
		fmt.Fprintf(stderr, "rotor rotate: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusTooManyRequests {
		fmt.Fprintf(stderr, "rotor rotate: too many rotations on this listener; retry in %ss\n", resp.Header.Get("Retry-After"))
		return exitFailed
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "rotor rotate: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s\n", strings.TrimSpace(string(body)))
	return exitOK
}
