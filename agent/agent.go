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
	"strings"
	"sync"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/state"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/sink"
	"github.com/rotorproject/rotor/supervise"
	"github.com/rotorproject/rotor/template"
	"golang.org/x/sync/errgroup"
)

// Agent is a configured rotor. Build it with New, start it with Run.
type Agent struct {
	cfg    *config.Config
	log    *slog.Logger
	client *api.Client
	life   *auth.Lifecycle
	sinks  []*sink.File
	store  *lease.Store
	runner *template.Runner // nil without templates
	child  *supervise.Child // nil without exec
	done   chan struct{}    // closed when exit_after_auth's work is finished
	once   sync.Once

	metrics *ops.Metrics
	servers []*ops.Server

	state  *state.File         // nil without a state block
	resume []lease.SecretState // secrets saved by the previous run
	saveCh chan struct{}
}

// errDone ends Run successfully once exit_after_auth's work is finished.
var errDone = errors.New("done")

// New builds the agent's parts from cfg. It starts nothing and reads no
// credential; it fails on settings that cannot work (TLS files, owners).
func New(cfg *config.Config, log *slog.Logger) (*Agent, error) {
	a := &Agent{cfg: cfg, log: log, done: make(chan struct{}), saveCh: make(chan struct{}, 1)}
	a.metrics = ops.NewMetrics(a.Status)
	client, err := vaultclient.New(cfg.Vault, vaultclient.Options{MaxConnsPerHost: cfg.TemplateConfig.MaxConnectionsPerHost, Observe: a.metrics.Request})
	if err != nil {
		return nil, err
	}
	a.client = client
	tc := cfg.TemplateConfig
	a.store = lease.NewStore(lease.Options{
		Client:       client,
		Policy:       lease.Policy{Threshold: tc.LeaseRenewalThreshold, StaticInterval: tc.StaticSecretRenderInterval},
		MaxParallel:  tc.MaxConnectionsPerHost,
		Logger:       log.With("component", "lease"),
		OnChange:     a.secretsChanged,
		InvalidToken: func(t *auth.Token) { a.life.Invalidate(t) },
		OnUpdate:     a.stateChanged,
	})
	if len(cfg.Templates) > 0 || len(cfg.EnvTemplates) > 0 {
		a.runner, err = template.New(cfg.Templates, cfg.EnvTemplates, template.Options{Store: a.store, Logger: log.With("component", "template"),
			Config: tc, MaxRetries: cfg.Vault.NumRetries, Once: cfg.ExitAfterAuth})
		if err != nil {
			return nil, err
		}
		a.runner.OnFirstRender = a.firstRender
		a.runner.OnRender = a.metrics.Render
		a.runner.OnCommand = a.metrics.Command
	}
	if cfg.Exec != nil {
		a.child = supervise.New(cfg.Exec, log.With("component", "exec"))
		if a.runner != nil {
			a.runner.OnEnv = a.child.SetEnv
		}
	}
	opts := auth.Options{
		Client:  client,
		Observe: a.metrics.Auth,
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
	if cfg.State != nil {
		snap, err := a.openState(cfg)
		if err != nil {
			return nil, err
		}
		if snap != nil {
			opts.Resume = auth.FromSaved(snap.Token)
			a.resume = snap.Secrets
		}
	}
	a.life = auth.NewLifecycle(opts)
	for _, l := range cfg.Listeners {
		srv, err := ops.NewServer(l, a, a.metrics, log.With("component", "api"))
		if err != nil {
			a.closeServers()
			return nil, err
		}
		a.servers = append(a.servers, srv)
	}
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
	g.Go(func() error { return a.store.Run(ctx) })
	if a.runner != nil {
		g.Go(func() error { return a.runner.Run(ctx) })
	}
	if a.child != nil {
		g.Go(func() error { return a.child.Run(ctx) })
	}
	if a.state != nil {
		g.Go(func() error { return a.runSaver(ctx) })
	}
	for _, srv := range a.servers {
		g.Go(func() error { return srv.Run(ctx) })
	}
	if a.cfg.ExitAfterAuth {
		g.Go(func() error {
			select {
			case <-a.done:
				return errDone
			case <-ctx.Done():
				return nil
			}
		})
	}
	err := g.Wait()
	if errors.Is(err, errDone) || errors.Is(err, template.ErrOnceFinished) {
		// Init mode: the files are for the app that starts next; nothing
		// is revoked.
		a.log.Info("exit_after_auth: token written and templates rendered; exiting")
		a.saveState()
		return nil
	}
	a.revokeOnShutdown()
	a.finalState()
	return err
}

// finalState saves the state for the next run, or removes it when the
// token was revoked (nothing in it would work).
func (a *Agent) finalState() {
	if a.state == nil {
		return
	}
	if a.cfg.RevokeTokenOnShutdown && a.cfg.AutoAuth != nil {
		a.state.Remove()
		return
	}
	a.saveState()
}

// firstRender runs once every template has rendered: the child may start,
// and exit_after_auth's work is done.
func (a *Agent) firstRender() {
	if a.child != nil {
		a.child.Ready()
	}
	a.finishOnce()
}

// Signal forwards a signal to the supervised child. It reports false when
// there is no child running to take it, so the caller stops rotor instead.
func (a *Agent) Signal(s os.Signal) bool {
	if a.child == nil || !a.child.Started() {
		return false
	}
	a.child.Signal(s)
	return true
}

// Rotate forces a new fetch of every secret, or of those whose key
// contains match; see lease.Store.Rotate.
func (a *Agent) Rotate(match string) int {
	return a.store.Rotate(func(k string) bool { return match == "" || strings.Contains(k, match) })
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
	if tok.Resumed && a.resume != nil {
		n := a.store.Restore(a.resume, tok.Generation)
		a.log.Info("reusing the saved token and leases", "component", "state", "accessor", tok.Accessor, "secrets", n)
	}
	a.resume = nil
	if err := a.store.SetToken(tok); err != nil {
		return err
	}
	a.stateChanged()
	if a.runner == nil && tok.Generation == 1 {
		a.firstRender()
	}
	return nil
}

// finishOnce marks exit_after_auth's work done: the sinks are written and
// every template rendered.
func (a *Agent) finishOnce() { a.once.Do(func() { close(a.done) }) }

// secretsChanged forwards changed secrets to the templates.
func (a *Agent) secretsChanged(keys []string) {
	if a.runner != nil {
		a.runner.Notify(keys)
	}
}

// Token returns the current token (nil before the first login).
func (a *Agent) Token() *auth.Token { return a.life.Token() }
