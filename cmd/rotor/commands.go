package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/rotorproject/rotor/agent"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/template"
)

// configFlags is a repeatable -config flag.
type configFlags []string

func (c *configFlags) String() string     { return strings.Join(*c, ",") }
func (c *configFlags) Set(v string) error { *c = append(*c, v); return nil }

func cmdAgent(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "configuration file or directory (repeatable)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintf(stderr, "rotor agent: %v\n", err)
		return exitUsage
	}
	cfg, err := config.Load(configs, os.LookupEnv)
	if err != nil {
		printConfigError(stderr, err)
		return exitFailed
	}
	a, err := agent.New(cfg, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitFailed
	}
	ctx, stop := signalContext()
	defer stop()
	log.Info("rotor starting", "version", version, "vault", cfg.Vault.Address, "config", strings.Join(cfg.Files, ","))
	if err := a.Run(ctx); err != nil {
		log.Error("rotor stopped", "error", err)
		return exitFailed
	}
	log.Info("rotor stopped")
	return exitOK
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rotor validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs configFlags
	fs.Var(&configs, "config", "configuration file or directory (repeatable)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	configs = append(configs, fs.Args()...)
	cfg, err := config.Load(configs, os.LookupEnv)
	if err != nil {
		printConfigError(stderr, err)
		return exitFailed
	}
	for _, w := range config.Warnings(cfg) {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	bad := 0
	for _, t := range cfg.Templates {
		if t.Source != "" {
			if _, err := os.Stat(t.Source); err != nil {
				continue // already warned: it may exist only where rotor runs
			}
		}
		if err := template.Check(t); err != nil {
			fmt.Fprintf(stderr, "rotor: %v\n", err)
			bad++
		}
	}
	if bad > 0 {
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
		return
	}
	fmt.Fprintf(w, "rotor: %v\n", err)
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: use debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("-log-format %q: use text or json", format)
}
