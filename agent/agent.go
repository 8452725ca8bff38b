// Package agent is rotor's supervisor: it builds every part from the
// configuration, runs them together, and shuts them down.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/sink"
	"golang.org/x/sync/errgroup"
)

// Agent is a configured rotor. Build it with New, start it with Run.
type Agent struct {
	cfg    *config.Config
	log    *slog.Logger
	client *api.Client
	life   *auth.Lifecycle
	sinks  []*sink.File
}

// errDone ends Run successfully once exit_after_auth's work is finished.
var errDone = errors.New("done")

// New builds the agent's parts from cfg. It starts nothing and reads no
// credential; it fails on settings that cannot work (TLS files, owners).
func New(cfg *config.Config, log *slog.Logger) (*Agent, error) {
	client, err := vaultclient.New(cfg.Vault, vaultclient.Options{MaxConnsPerHost: cfg.TemplateConfig.MaxConnectionsPerHost})
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: log, client: client}
	opts := auth.Options{
		Client:  client,
		OnToken: a.onToken,
		Logger:  log.With("component", "auth"),
	}
	if aa := cfg.AutoAuth; aa != nil {
		m, err := auth.NewMethod(aa.Method, cfg.Vault)
		if err != nil {
			return nil, fmt.Errorf("auto_auth method %q: %w", aa.Method.Type, err)
		}
		opts.Method = m
		opts.Namespace = aa.Method.Namespace
		opts.MinBackoff, opts.MaxBackoff = aa.Method.MinBackoff, aa.Method.MaxBackoff
		opts.ExitOnErr = aa.Method.ExitOnErr
		for _, s := range aa.Sinks {
			f, err := sink.NewFile(s)
			if err != nil {
				return nil, err
			}
			a.sinks = append(a.sinks, f)
		}
	} else {
		opts.Static = auth.StaticToken(string(cfg.Token))
	}
	a.life = auth.NewLifecycle(opts)
	return a, nil
}

// Run runs the agent until ctx is done (returns nil) or a part fails
// (returns its error). With exit_after_auth it returns nil once the token
// is in every sink.
func (a *Agent) Run(ctx context.Context) error {
	if a.cfg.PidFile != "" {
		pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
		if _, err := atomicfile.Write(a.cfg.PidFile, pid, atomicfile.Options{Mode: 0o644, UID: -1, GID: -1}); err != nil {
			return fmt.Errorf("pid_file: %w", err)
		}
		defer os.Remove(a.cfg.PidFile)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.life.Run(ctx) })
	err := g.Wait()
	if errors.Is(err, errDone) {
		a.log.Info("exit_after_auth: token written; exiting")
		return nil
	}
	return err
}

// onToken writes each new token to the sinks. A sink that cannot be
// written for the first token stops rotor: a misconfigured path must not
// go unnoticed. Later failures are logged and retried with the next token.
func (a *Agent) onToken(ctx context.Context, tok *auth.Token) error {
	log := a.log.With("component", "sink")
	var errs []error
	for _, s := range a.sinks {
		if err := s.Write(ctx, a.client, tok.Value()); err != nil {
			errs = append(errs, err)
			log.Error("sink write failed", "path", s.Path, "error", err)
			continue
		}
		log.Info("token written", "path", s.Path, "wrapped", s.WrapTTL > 0)
	}
	if err := errors.Join(errs...); err != nil && tok.Generation == 1 {
		return err
	}
	if a.cfg.ExitAfterAuth {
		return errDone
	}
	return nil
}

// Token returns the current token (nil before the first login).
func (a *Agent) Token() *auth.Token { return a.life.Token() }
