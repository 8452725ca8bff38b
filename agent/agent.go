// Package agent is rotor's supervisor: it translates the configuration
// into each part's options, builds the parts, runs them together, and
// shuts them down.
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
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/phases"
	"github.com/rotorproject/rotor/internal/state"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/watch"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/proxy"
	"github.com/rotorproject/rotor/sink"
	"github.com/rotorproject/rotor/supervise"
	"github.com/rotorproject/rotor/template"
)

// Options configure an Agent beyond its configuration file.
type Options struct {
	Logger *slog.Logger
	// OnReady, if set, is called once rotor is ready: authenticated, the
	// token in every sink, and every template rendered (systemd's READY=1).
	OnReady func()
	// Phases, if set, records where the time goes until then (benchmarks).
	Phases *phases.Recorder
}

// Agent is a configured rotor. Build it with New, start it with Run.
type Agent struct {
	log    *slog.Logger
	client *api.Client
	store  *lease.Store
	child  *supervise.Child // nil without exec
	// done is closed once the token is in every sink and every template
	// has rendered: the one "finished" signal of init mode (and READY=1).
	done     chan struct{}
	once     sync.Once
	onReady  func()
	phases   *phases.Recorder
	runStart time.Time   // Run's start, for the login phase (phases only)
	rendered atomic.Bool // every template has rendered once
	sinkw    sinkWriter

	metrics *ops.Metrics
	servers []*ops.Server

	// mu guards the parts a reload replaces: set, life, runner, sinks.
	mu         sync.Mutex
	set        *settings
	life       *auth.Lifecycle
	runner     *template.Runner // nil without templates
	sinks      []*sink.File
	lifeSlot   slot
	runnerSlot slot

	state       *state.File         // nil without a state block
	resume      []lease.SecretState // secrets saved by the previous run
	resumeCache []proxy.Entry       // proxy cache saved by the previous run
	saveCh      chan struct{}

	cache *proxy.Cache // the API proxy's cache; nil without a cache block
	// watch tells templates and the auth method when files they depend
	// on change (inputs, sources, destinations, credential files).
	watch *watch.Watcher
	// quit is closed by POST /agent/v1/quit: Run stops as on SIGTERM.
	quit     chan struct{}
	quitOnce sync.Once

	// redact keeps the redaction set secrets() hands out.
	redact redactor
}

// errDone ends Run successfully once exit_after_auth's work is finished;
// errQuit ends it as a clean stop (POST /agent/v1/quit).
var (
	errDone = errors.New("done")
	errQuit = errors.New("quit")
)

// New builds the agent's parts from cfg. It starts nothing and reads no
// credential; it fails on settings that cannot work (TLS files, owners).
func New(cfg *config.Config, o Options) (*Agent, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The umask is read before any goroutine starts (see its doc).
	atomicfile.Umask()
	s := translate(cfg)
	if err := checkWrapped(s); err != nil {
		return nil, err
	}
	warnInsecureVault(log, s.vault)
	a := &Agent{set: s, log: log, onReady: o.OnReady, phases: o.Phases, done: make(chan struct{}), saveCh: make(chan struct{}, 1),
		quit: make(chan struct{}), watch: watch.New(log.With("component", "watch"))}
	a.sinkw.kick = make(chan struct{}, 1)
	a.metrics = ops.NewMetrics(a.Status)
	client, err := vaultclient.New(s.vault, vaultclient.Options{MaxConnsPerHost: s.maxConns, Observe: a.metrics.Request, Logger: log})
	if err != nil {
		return nil, err
	}
	a.client = client
	a.store = lease.NewStore(lease.Options{
		Client:       client,
		Policy:       s.policy,
		MaxParallel:  s.maxConns,
		Logger:       log.With("component", "lease"),
		OnChange:     a.secretsChanged,
		InvalidToken: func(t *auth.Token) { a.lifecycle().Invalidate(t) },
		OnUpdate:     a.stateChanged,
		Phases:       o.Phases,
	})
	if s.exec != nil {
		a.child = supervise.New(supervise.Options{Spec: *s.exec, Env: s.childEnv(), Logger: log.With("component", "exec")})
	}
	if a.runner, err = a.newRunner(s, nil); err != nil {
		return nil, err
	}
	var resume *auth.Token
	if s.state != nil {
		snap, err := a.openState(s.state)
		if err != nil {
			return nil, err
		}
		if snap != nil {
			resume = auth.FromSaved(snap.Token)
			a.resume, a.resumeCache = snap.Secrets.Secrets, snap.Cache
		}
	}
	if a.life, a.sinks, err = a.newLifecycle(s, resume, nil); err != nil {
		return nil, err
	}
	api, err := a.newProxy(s)
	if err != nil {
		return nil, err
	}
	api.Quit = func() { a.quitOnce.Do(func() { close(a.quit) }) }
	for _, l := range s.listeners {
		srv, err := ops.NewServer(l, a, a.metrics, log.With("component", "api"), api)
		if err != nil {
			a.closeServers()
			return nil, err
		}
		a.servers = append(a.servers, srv)
	}
	return a, nil
}

// newRunner builds the template runner for s (nil without templates).
// prev is the runner it replaces on a reload: the reload commands prev
// still owed carry over.
func (a *Agent) newRunner(s *settings, prev *template.Runner) (*template.Runner, error) {
	if len(s.templates) == 0 && len(s.envs) == 0 {
		return nil, nil
	}
	o := template.Options{
		Store:              a.store,
		Logger:             a.log.With("component", "template"),
		ExitOnRetryFailure: s.render.exitOnRetryFailure,
		MaxRetries:         s.render.maxRetries,
		Once:               s.render.once,
		OnFirstRender:      a.firstRender,
		OnRender:           a.metrics.Render,
		OnCommand:          a.metrics.Command,
		OnConfirm:          a.metrics.Confirm,
		Env:                s.childEnv(),
		Secrets:            a.secrets,
		Policy:             s.policy,
		Watch:              a.watch,
		Phases:             a.phases,
	}
	if prev != nil {
		// Called when the new runner starts, after prev has stopped.
		o.Inherit = prev.Pending
	}
	if a.child != nil {
		o.OnEnv = a.child.SetEnv
		o.RestartExec = a.child.Restart
	}
	return template.New(s.templates, s.envs, o)
}

// newLifecycle builds the token lifecycle and sinks for s. resume is a
// token saved by a previous run; prev is the token of the lifecycle this
// one replaces on a reload (its generation and death carry over).
func (a *Agent) newLifecycle(s *settings, resume, prev *auth.Token) (*auth.Lifecycle, []*sink.File, error) {
	opts := auth.Options{
		Client:    a.client,
		Observe:   a.metrics.Auth,
		OnToken:   a.onToken,
		OnRenewed: a.store.TokenRenewed,
		Logger:    a.log.With("component", "auth"),
		Resume:    resume,
		Previous:  prev,
	}
	if s.auth == nil {
		opts.Static = auth.StaticToken(s.staticToken)
		return auth.NewLifecycle(opts), nil, nil
	}
	m, err := auth.NewMethod(s.auth.method, s.vault, a.log.With("component", "auth"))
	if err != nil {
		return nil, nil, fmt.Errorf("auto_auth method %q: %w", s.auth.method.Type, err)
	}
	opts.Method = m
	if s.auth.wrapTTL > 0 {
		opts.WrapTTL, opts.OnWrapped = s.auth.wrapTTL, a.onWrapped
	}
	opts.Namespace = s.auth.namespace
	opts.MinBackoff, opts.MaxBackoff = s.auth.minBackoff, s.auth.maxBackoff
	opts.ExitOnErr = s.auth.exitOnErr
	var sinks []*sink.File
	for _, so := range s.sinks {
		f, err := sink.NewFile(so)
		if err != nil {
			return nil, nil, err
		}
		sinks = append(sinks, f)
	}
	return auth.NewLifecycle(opts), sinks, nil
}

// Run runs the agent until ctx is done (returns nil) or a part fails
// (returns its error). With exit_after_auth it returns nil once the token
// is in every sink and every template has rendered. On the way out it
// revokes what revoke_on_shutdown asks for and saves the state file.
func (a *Agent) Run(ctx context.Context) error {
	s := a.settings()
	a.runStart = a.phases.Begin()
	a.cleanupLeftovers(s)
	if s.pidFile != "" {
		pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
		if _, err := atomicfile.Write(s.pidFile, pid, atomicfile.Options{Mode: pidFileMode(), UID: -1, GID: -1}); err != nil {
			return fmt.Errorf("pid_file: %w", err)
		}
		defer os.Remove(s.pidFile)
	}
	// Every part runs in g: a panic in one becomes an error naming it,
	// which cancels the others like any fatal error.
	g := newPartGroup(ctx, a.log)
	a.lifeSlot.set(a.lifecycle().Run)
	if r := a.templates(); r != nil {
		a.runnerSlot.set(r.Run)
	}
	g.Go("auth", func(ctx context.Context) error { return a.lifeSlot.run(ctx, g.runner("auth")) })
	g.Go("leases", a.store.Run)
	g.Go("file watcher", a.watch.Run)
	a.watchCredentials()
	g.Go("templates", func(ctx context.Context) error { return a.runnerSlot.run(ctx, g.runner("templates")) })
	g.Go("sinks", a.runSinkRetry)
	if a.child != nil {
		g.Go("exec child", a.child.Run)
	}
	if a.state != nil {
		g.Go("state saver", a.runSaver)
	}
	for _, srv := range a.servers {
		g.Go("listener "+srv.Addr(), srv.Run)
	}
	g.Go("quit", func(ctx context.Context) error {
		select {
		case <-a.quit:
			a.log.Info("stopping: quit requested over the API")
			return errQuit
		case <-ctx.Done():
			return nil
		}
	})
	if s.exitAfterAuth {
		g.Go("exit_after_auth", func(ctx context.Context) error {
			select {
			case <-a.done:
				return errDone
			case <-ctx.Done():
				return nil
			}
		})
	}
	err := g.Wait()
	if errors.Is(err, errDone) {
		// Init mode: the files are for the app that starts next; nothing
		// is revoked.
		a.log.Info("exit_after_auth: token written and templates rendered; exiting")
		a.saveState()
		return nil
	}
	if pe := (*PanicError)(nil); errors.As(err, &pe) {
		// The part died in the middle of whatever it was changing, perhaps
		// holding a lock: revoking or saving would read that state (or
		// block on it). Nothing is revoked, as after a crash, and the state
		// file keeps the last consistent save.
		a.log.Error("stopped by a panic: nothing revoked, state not saved", "part", pe.Part)
		return err
	}
	a.revokeOnShutdown()
	a.finalState()
	if errors.Is(err, errQuit) {
		return nil
	}
	return err
}

// finalState saves the state for the next run, or removes it when the
// token was revoked (nothing in it would work).
func (a *Agent) finalState() {
	if a.state == nil {
		return
	}
	if s := a.settings(); s.revokeTokenOnShutdown && s.auth != nil {
		a.state.Remove()
		return
	}
	a.saveState()
}

// firstRender runs once every template has rendered: the child may start,
// and exit_after_auth's work is done.
func (a *Agent) firstRender() {
	// With exit_after_auth rotor exits now: the child is not started (as
	// in Vault Agent), rather than started and cut off at once.
	if a.child != nil && !a.settings().exitAfterAuth {
		a.child.Ready()
	}
	a.finish()
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
	if tok.Generation == 1 {
		a.phases.End(phases.Login, a.runStart)
	}
	if err := a.writeSinks(ctx, tok); err != nil && tok.Generation == 1 {
		return err
	}
	if a.cache != nil {
		a.cache.Manage(tok.Value())
	}
	if tok.Resumed && a.resume != nil {
		n := a.store.Restore(a.resume, tok.Generation)
		a.log.Info("reusing the saved token and leases", "component", "state", "accessor", tok.Accessor, "secrets", n)
	}
	if tok.Resumed && a.cache != nil && len(a.resumeCache) > 0 {
		n := a.cache.Restore(a.resumeCache)
		a.log.Info("reusing the saved proxy cache", "component", "state", "entries", n)
	}
	a.resume, a.resumeCache = nil, nil
	if err := a.store.SetToken(tok); err != nil {
		return err
	}
	a.stateChanged()
	if a.templates() == nil && tok.Generation == 1 {
		a.firstRender()
	}
	return nil
}

// finish marks the first complete render: every template rendered (or
// there are none). rotor is ready once the sinks hold the token too.
func (a *Agent) finish() {
	a.rendered.Store(true)
	a.maybeReady()
}

// maybeReady ends init mode (done) and tells OnReady, once: when every
// template has rendered and every sink holds the latest token (a sink
// waiting for its reader's public key holds rotor back, as in Vault Agent).
func (a *Agent) maybeReady() {
	if !a.rendered.Load() || a.sinkw.waiting() {
		return
	}
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

// watchCredentials watches the auth method's credential files: when one
// is replaced, a login waiting out its backoff is tried at once, and a
// token file's new token is used.
func (a *Agent) watchCredentials() {
	paths := map[string]func(){}
	for _, p := range a.lifecycle().CredentialFiles() {
		paths[p] = func() { a.lifecycle().CredentialsChanged() }
	}
	a.watch.Set("credentials", paths)
}

// Token returns the current token (nil before the first login).
func (a *Agent) Token() *auth.Token { return a.lifecycle().Token() }

// settings returns the settings in force (a reload may replace them).
func (a *Agent) settings() *settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.set
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
