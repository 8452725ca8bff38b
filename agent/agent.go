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
	onReady func()

	// mu guards the parts a reload replaces: cfg, life, runner, sinks.
	mu         sync.Mutex
	lifeSlot   slot
	runnerSlot slot

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
		InvalidToken: func(t *auth.Token) { a.lifecycle().Invalidate(t) },
		OnUpdate:     a.stateChanged,
	})
	if cfg.Exec != nil {
		a.child = supervise.New(cfg.Exec, log.With("component", "exec"))
	}
	if a.runner, err = a.newRunner(cfg); err != nil {
		return nil, err
	}
	var resume *auth.Token
	if cfg.State != nil {
		snap, err := a.openState(cfg)
		if err != nil {
			return nil, err
		}
		if snap != nil {
			resume = auth.FromSaved(snap.Token)
			a.resume = snap.Secrets.Secrets
		}
	}
	if a.life, a.sinks, err = a.newLifecycle(cfg, resume, nil); err != nil {
		return nil, err
	}
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

// newRunner builds the template runner for cfg (nil without templates).
func (a *Agent) newRunner(cfg *config.Config) (*template.Runner, error) {
	if len(cfg.Templates) == 0 && len(cfg.EnvTemplates) == 0 {
		return nil, nil
	}
	r, err := template.New(cfg.Templates, cfg.EnvTemplates, template.Options{Store: a.store, Logger: a.log.With("component", "template"),
		Config: cfg.TemplateConfig, MaxRetries: cfg.Vault.NumRetries, Once: cfg.ExitAfterAuth})
	if err != nil {
		return nil, err
	}
	r.OnFirstRender = a.firstRender
	r.OnRender = a.metrics.Render
	r.OnCommand = a.metrics.Command
	if a.child != nil {
		r.OnEnv = a.child.SetEnv
	}
	return r, nil
}

// newLifecycle builds the token lifecycle and sinks for cfg. resume is a
// token saved by a previous run; prev is the token of the lifecycle this
// one replaces on a reload (its generation and death carry over).
func (a *Agent) newLifecycle(cfg *config.Config, resume, prev *auth.Token) (*auth.Lifecycle, []*sink.File, error) {
	opts := auth.Options{
		Client:    a.client,
		Observe:   a.metrics.Auth,
		OnToken:   a.onToken,
		OnRenewed: a.store.TokenRenewed,
		Logger:    a.log.With("component", "auth"),
		Resume:    resume,
		Previous:  prev,
	}
	var sinks []*sink.File
	if aa := cfg.AutoAuth; aa != nil {
		m, err := auth.NewMethod(aa.Method, cfg.Vault, a.log.With("component", "auth"))
		if err != nil {
			return nil, nil, fmt.Errorf("auto_auth method %q: %w", aa.Method.Type, err)
		}
		opts.Method = m
		opts.Namespace = aa.Method.Namespace
		opts.MinBackoff, opts.MaxBackoff = aa.Method.MinBackoff, aa.Method.MaxBackoff
		opts.ExitOnErr = aa.Method.ExitOnErr
		for _, s := range aa.Sinks {
			f, err := sink.NewFile(s)
			if err != nil {
				return nil, nil, err
			}
			sinks = append(sinks, f)
		}
	} else {
		opts.Static = auth.StaticToken(string(cfg.Token))
	}
	return auth.NewLifecycle(opts), sinks, nil
}

// Run runs the agent until ctx is done (returns nil) or a part fails
// (returns its error). With exit_after_auth it returns nil once the token
// is in every sink and every template has rendered. On the way out it
// revokes what revoke_on_shutdown asks for and saves the state file.
func (a *Agent) Run(ctx context.Context) error {
	cfg := a.config()
	if cfg.PidFile != "" {
		pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
		if _, err := atomicfile.Write(cfg.PidFile, pid, atomicfile.Options{Mode: 0o644, UID: -1, GID: -1}); err != nil {
			return fmt.Errorf("pid_file: %w", err)
		}
		defer os.Remove(cfg.PidFile)
	}
	g, ctx := errgroup.WithContext(ctx)
	a.lifeSlot.set(a.lifecycle().Run)
	if r := a.templates(); r != nil {
		a.runnerSlot.set(r.Run)
	}
	g.Go(func() error { return a.lifeSlot.run(ctx) })
	g.Go(func() error { return a.store.Run(ctx) })
	g.Go(func() error { return a.runnerSlot.run(ctx) })
	if a.child != nil {
		g.Go(func() error { return a.child.Run(ctx) })
	}
	if a.state != nil {
		g.Go(func() error { return a.runSaver(ctx) })
	}
	for _, srv := range a.servers {
		g.Go(func() error { return srv.Run(ctx) })
	}
	if cfg.ExitAfterAuth {
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
	if cfg := a.config(); cfg.RevokeTokenOnShutdown && cfg.AutoAuth != nil {
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
	// Secrets no template uses any more (removed by a reload, or left in
	// the state file) are no longer kept alive.
	if r := a.templates(); r != nil {
		used := map[string]bool{}
		for _, t := range r.Status() {
			for _, k := range t.Secrets {
				used[k] = true
			}
		}
		if n := a.store.Retain(func(k string) bool { return used[k] }); n > 0 {
			a.log.Info("secrets no longer used are released", "component", "lease", "count", n)
		}
	}
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
	if err := a.writeSinks(ctx, tok); err != nil && tok.Generation == 1 {
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
	if a.templates() == nil && tok.Generation == 1 {
		a.firstRender()
	}
	return nil
}

// writeSinks writes tok to every sink and returns the failures, joined.
func (a *Agent) writeSinks(ctx context.Context, tok *auth.Token) error {
	log := a.log.With("component", "sink")
	a.mu.Lock()
	sinks := a.sinks
	a.mu.Unlock()
	var errs []error
	for _, s := range sinks {
		if err := s.Write(ctx, a.client, tok.Value()); err != nil {
			errs = append(errs, err)
			log.Error("sink write failed", "path", s.Path, "error", err)
			continue
		}
		log.Info("token written", "path", s.Path, "wrapped", s.WrapTTL > 0)
	}
	return errors.Join(errs...)
}

// finishOnce marks exit_after_auth's work done: the sinks are written and
// every template rendered.
func (a *Agent) finishOnce() {
	a.once.Do(func() {
		close(a.done)
		if a.onReady != nil {
			a.onReady()
		}
	})
}

// secretsChanged forwards changed secrets to the templates.
func (a *Agent) secretsChanged(keys []string) {
	if r := a.templates(); r != nil {
		r.Notify(keys)
	}
}

// Token returns the current token (nil before the first login).
func (a *Agent) Token() *auth.Token { return a.lifecycle().Token() }

// config returns the configuration in force (a reload may replace it).
func (a *Agent) config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// lifecycle and templates return the current parts, which a reload may
// replace.
func (a *Agent) lifecycle() *auth.Lifecycle {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.life
}

func (a *Agent) templates() *template.Runner {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.runner
}
