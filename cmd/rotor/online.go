package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/rotorproject/rotor/agent"
	"github.com/rotorproject/rotor/agent/config"
)

// Exit codes of rotor validate -online: 0 every part would work, 1 some
// would fail (exitFailed), 2 nothing could be checked (the login failed,
// Vault did not answer): the same code as a usage error.
const exitCannotCheck = 2

// onlineTimeout bounds the whole online check: a hung Vault must not hang
// a CI job.
const onlineTimeout = 2 * time.Minute

// online holds rotor validate's -online flags.
type online struct {
	on     *bool
	token  *string
	format *string
}

func onlineFlags(fs *flag.FlagSet) *online {
	return &online{
		on:     fs.Bool("online", false, "also ask Vault: log in, check every template's paths and dry-render it in memory (writes nothing, revokes its token)"),
		token:  fs.String("token", "", "with -online: use this token instead of logging in with auto_auth (never revoked); - reads it from standard input"),
		format: fs.String("format", "text", "with -online: output format, text or json"),
	}
}

// run is rotor validate -online, after the offline checks found problems
// (then Vault is not asked) or none.
func (o *online) run(cfg *config.Config, problems []string, stdout, stderr io.Writer) int {
	if *o.format != "text" && *o.format != "json" {
		fmt.Fprintf(stderr, "rotor validate: -format %q: use text or json\n", *o.format)
		return exitUsage
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "rotor: %s\n", p)
		}
		o.writeJSON(stdout, &agent.Report{Vault: agent.RedactedAddress(cfg.Vault.Address), ConfigProblems: problems})
		return exitFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, onlineTimeout)
	defer cancel()
	token := *o.token
	if token == "-" {
		// Read from standard input: a token in the arguments is visible
		// to every user of the machine (ps).
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
		if err != nil || strings.TrimSpace(string(b)) == "" {
			fmt.Fprintln(stderr, "rotor validate: -token -: no token on standard input")
			return exitUsage
		}
		token = string(b)
	}
	rep, err := agent.Preflight(ctx, cfg, agent.PreflightOptions{Token: strings.TrimSpace(token)})
	if err != nil {
		fmt.Fprintf(stderr, "rotor validate: %v\n", err)
		o.writeJSON(stdout, &agent.Report{Vault: agent.RedactedAddress(cfg.Vault.Address), Error: err.Error()})
		return exitCannotCheck
	}
	if *o.format == "json" {
		o.writeJSON(stdout, rep)
	} else {
		rep.WriteText(stdout)
	}
	switch {
	case rep.Failing() > 0:
		return exitFailed
	case rep.Unchecked() > 0:
		return exitCannotCheck
	}
	return exitOK
}

// writeJSON writes rep with -format json; nothing otherwise.
func (o *online) writeJSON(w io.Writer, rep *agent.Report) {
	if *o.format != "json" {
		return
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.Encode(rep)
}
