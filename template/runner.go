package template

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/phases"
	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
)

// maxRounds bounds render-fetch-render rounds for templates whose secret
// paths depend on other secrets.
const maxRounds = 8

// Runner renders every template, and renders again the ones whose secrets
// changed. Build it with New; Run does the work.
type Runner struct {
	o      Options
	store  *lease.Store
	log    *slog.Logger
	clock  clock.Clock
	tmpls  []*tmpl
	groups []*group

	wake      chan struct{}
	writeSem  chan struct{} // bounds concurrent file writes (see writers)
	dirs      atomicfile.DirSyncer
	firstDone bool
	// perTemplate says some template has its own renewal policy: every
	// template then tells the store its policy after each render, so a
	// secret shared with a template on the global policy is not held to
	// a laxer one (see lease.Store.Prefer).
	perTemplate bool

	// Reload commands run in goroutines of their own (retryCommand); they
	// report through cmdDone, and Run waits for them (cmdWG) before it
	// returns.
	cmdMu   sync.Mutex
	cmdDone []cmdReport
	cmdWG   sync.WaitGroup
	// Consumer checks (confirm blocks) run like commands and report
	// through confirmDone (confirmrun.go); guarded is what the store was
	// last told to guard.
	confirmDone []confirmReport
	guarded     []string

	// watched are the files last given to the Watcher; watchDirty says
	// they may have changed since (see watchFiles).
	watched    map[string]bool
	watchDirty atomic.Bool

	mu      sync.Mutex
	changed map[string]bool // secret keys changed since the last loop
	files   fileEvents      // file changes the Watcher reported

	smu    sync.Mutex // guards status
	status map[*tmpl]*Status

	seedMu sync.Mutex // serializes certificate reuse (reuseCert)
}

// Options configure a Runner. Callbacks are called from Run's goroutine
// and must not block.
type Options struct {
	Store  *lease.Store
	Logger *slog.Logger
	Clock  clock.Clock
	// ExitOnRetryFailure makes Run fail once a template has failed
	// MaxRetries times in a row (template_config.exit_on_retry_failure).
	ExitOnRetryFailure bool
	// MaxRetries is how many failed renders in a row of one template
	// ExitOnRetryFailure and Once tolerate: vault.retry.num_retries, as in
	// Vault Agent (default 12).
	MaxRetries int
	// Once renders every template once: Run calls OnFirstRender and
	// returns nil when all rendered, or returns an error listing each
	// template that failed MaxRetries times. Retries back off up to 5s
	// instead of 1m.
	Once bool

	// OnFirstRender is called once every template has been written at
	// least once.
	OnFirstRender func()
	// OnEnv receives the rendered env_template values (NAME -> value)
	// each time one of them changes.
	OnEnv func(map[string]string)
	// OnRender observes each render (err nil on success), for metrics.
	OnRender func(template string, err error)
	// OnCommand observes reload command exit codes (-1: did not run or
	// timed out), for metrics.
	OnCommand func(exitCode int)
	// OnConfirm observes a template's consumer check (confirm {}): ok
	// with the time from publish to confirmation, or !ok when the
	// timeout passed without it. For metrics.
	OnConfirm func(template string, took time.Duration, ok bool)
	// RestartExec restarts the exec child (nil: there is none); a
	// confirm block with restart_exec escalates to it.
	RestartExec func()

	// Env is the whole environment of reload commands (nil: none). The
	// agent passes rotor's own minus the variables it read credentials
	// from.
	Env []string
	// Secrets returns every secret value rotor holds, indexed for
	// redaction of errors and command output. Nil: the store's values.
	Secrets func() *redact.Set
	// Inherit, if set, is called when Run starts and returns the reload
	// commands (Command.Key) a previous runner still owed (see Pending):
	// a SIGHUP must not drop a failed command's retry.
	Inherit func() []string
	// Watch, if set, watches the files templates read, their sources and
	// their destinations (see watch.go).
	Watch Watcher
	// Phases, if set, times executions, writes and reload commands
	// (benchmarks).
	Phases *phases.Recorder
	// Policy is the global renewal policy (template_config's
	// lease_renewal_threshold and static_secret_render_interval), which a
	// template's Spec.Renewal overrides. A certificate found at a pkiCert
	// template's destination is reused until the threshold's fraction of
	// its validity has passed (0: the default, 0.9).
	Policy lease.Policy
}

// New parses every template (reading source files and checking syntax)
// and forms the command groups. It starts nothing.
func New(templates []Spec, envs []EnvSpec, o Options) (*Runner, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.MaxRetries = max(o.MaxRetries, 1)
	r := &Runner{o: o, store: o.Store, log: o.Logger, clock: o.Clock,
		wake: make(chan struct{}, 1), writeSem: make(chan struct{}, writers), changed: map[string]bool{}, status: map[*tmpl]*Status{}}
	var errs []error
	for i := range templates {
		t, err := newTmpl(&templates[i], templates[i].Destination)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.rec.reuse = func(ref lease.Ref) { r.reuseCert(t, ref) }
		r.perTemplate = r.perTemplate || templates[i].Renewal != (lease.Policy{})
		r.tmpls = append(r.tmpls, t)
	}
	var envTmpls []*tmpl
	for _, e := range envs {
		t, err := newTmpl(e.spec(), "env "+e.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.envName = e.Name
		envTmpls = append(envTmpls, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Once {
		for _, t := range append(r.tmpls, envTmpls...) {
			t.b.Max = 5 * time.Second
		}
	}
	for _, t := range append(r.tmpls, envTmpls...) {
		r.record(t, func(*Status) {})
		// What rotor validate points out (a secret rendered without
		// perms, a function acting outside the file) is said at start
		// too: a configuration is started far more often than validated.
		for _, w := range t.warnings() {
			r.log.Warn("template warning", "template", t.name, "warning", w)
		}
	}
	r.groups = groupByCommand(r.tmpls)
	r.watchDirty.Store(true)
	if len(envTmpls) > 0 {
		// All env templates form one group: the child's environment is
		// published whole, once per change.
		r.tmpls = append(r.tmpls, envTmpls...)
		r.groups = append(r.groups, &group{members: envTmpls, env: true})
	}
	return r, nil
}

// Notify tells the runner which secrets changed. It never blocks; the
// store calls it from its own goroutine.
func (r *Runner) Notify(keys []string) {
	r.mu.Lock()
	for _, k := range keys {
		r.changed[k] = true
	}
	r.mu.Unlock()
	r.poke()
}

// poke wakes Run. It never blocks.
func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run renders all templates once the store has a token, then re-renders
// on changes and retries failures with each template's own backoff, until
// ctx is done. It returns an error only with exit_on_retry_failure, once a
// template has failed MaxRetries times in a row.
func (r *Runner) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-r.store.Ready():
	}
	// Commands started by this runner end (killed on cancel) before Run
	// returns: the runner owns their goroutines.
	defer r.cmdWG.Wait()
	if r.store != nil && r.guarded == nil && !r.o.Once && !slices.ContainsFunc(r.groups, func(g *group) bool { return g.confirm != nil }) {
		// No consumer to confirm (any more, after a reload): leases a
		// previous runner held are let go.
		r.store.Guard(nil)
	}
	if r.o.Inherit != nil {
		r.inherit(r.o.Inherit())
	}
	r.reuseCerts()
	now := r.clock.Now()
	for _, t := range r.tmpls {
		t.dirty, t.dueAt = true, now
	}
	for {
		r.finishCommands(ctx)
		r.finishConfirms(ctx)
		r.applyFileEvents(r.clock.Now())
		r.markChanged()
		if err := r.pass(ctx); errors.Is(err, errOnceRendered) {
			return nil
		} else if err != nil {
			return err
		}
		r.watchFiles()
		if ctx.Err() != nil {
			return nil
		}
		if _, err := clock.Wait(ctx, r.clock, r.nextWake(), r.wake); err != nil {
			return nil
		}
	}
}

// markChanged turns changed secret keys into dirty templates, honouring
// each template's wait { min, max }.
func (r *Runner) markChanged() {
	r.mu.Lock()
	changed := r.changed
	r.changed = map[string]bool{}
	r.mu.Unlock()
	if len(changed) == 0 {
		return
	}
	now := r.clock.Now()
	for _, t := range r.tmpls {
		hit := false
		for k := range t.used {
			if changed[k] {
				hit = true
				break
			}
		}
		if hit {
			r.markDirty(t, now)
		}
	}
}

// pass renders what is due and publishes the groups it touched.
func (r *Runner) pass(ctx context.Context) error {
	now := r.clock.Now()
	var due []*tmpl
	for _, t := range r.tmpls {
		if t.dirty && !t.dueAt.After(now) && !t.retryAt.After(now) {
			due = append(due, t)
		}
	}
	if len(due) > 0 {
		r.renderGroups(ctx, due)
		if ctx.Err() != nil {
			return nil
		}
		r.guardKeys()
	}
	for _, g := range r.groups {
		g.retryCommand(ctx, r)
		g.stepConfirm(ctx, r)
	}
	// The first render is complete once its reload commands have run too
	// (init mode exits then; systemd hears READY=1 then).
	if !r.firstDone && r.allRendered() && !r.commandsRunning() {
		r.firstDone = true
		r.log.Info("all templates rendered", "count", len(r.tmpls))
		if r.o.OnFirstRender != nil {
			r.o.OnFirstRender()
		}
	}
	if r.o.Once {
		if err := r.onceFailed(); err != nil {
			return err
		}
		if r.allRendered() && !r.commandsRunning() {
			return errOnceRendered
		}
	}
	if r.o.ExitOnRetryFailure {
		for _, t := range r.tmpls {
			if t.failures >= r.o.MaxRetries {
				return fmt.Errorf("template %s failed %d times (exit_on_retry_failure): %w", t.name, t.failures, t.lastErr)
			}
		}
	}
	return nil
}

// errOnceRendered stops the loop in Once mode once every template has
// rendered; Run turns it into nil (OnFirstRender has told the caller).
var errOnceRendered = errors.New("every template rendered once")

// onceFailed reports, in Once mode, the templates that failed for good
// once every template has either rendered or used up its retries.
func (r *Runner) onceFailed() error {
	var failed []string
	for _, t := range r.tmpls {
		switch {
		case t.rendered:
		case t.failures >= r.o.MaxRetries:
			failed = append(failed, fmt.Sprintf("%s: %v", t.name, t.lastErr))
		default:
			return nil // still trying
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d templates failed:\n  %s", len(failed), len(r.tmpls), strings.Join(failed, "\n  "))
}

// RevokeOverrides returns, for each secret used by a template that sets
// revoke_on_shutdown, whether to revoke it (true wins over false). Call
// it after Run has returned.
func (r *Runner) RevokeOverrides() map[string]bool {
	out := map[string]bool{}
	for _, t := range r.tmpls {
		if t.cfg.RevokeOnShutdown == nil {
			continue
		}
		for k := range t.used {
			out[k] = out[k] || *t.cfg.RevokeOnShutdown
		}
	}
	return out
}

func (r *Runner) allRendered() bool {
	for _, t := range r.tmpls {
		if !t.rendered {
			return false
		}
	}
	return true
}

// secrets indexes every secret value for redaction.
func (r *Runner) secrets() *redact.Set {
	if r.o.Secrets != nil {
		return r.o.Secrets()
	}
	return redact.New(r.store.Values())
}

// secretsFor is secrets plus the content of the files ts read with the
// file function (which only the goroutine rendering ts may read).
func (r *Runner) secretsFor(ts ...*tmpl) *redact.Set {
	s := r.secrets()
	var vals []string
	for _, t := range ts {
		vals = append(vals, t.fileVals...)
	}
	if len(vals) == 0 {
		return s
	}
	return s.Plus(slices.Values(vals))
}

// fail records a failed render of kind k and schedules its retry. Every
// failure goes through here, so this is where its text loses any secret:
// a template error may quote a secret (parseInt does), and so may a Vault
// error or a file's content read by the file function. The class is read
// by type before, and kept (vaulterr.Redact): redaction never changes it.
func (r *Runner) fail(t *tmpl, k Kind, err error) {
	e := *asError(k, err)
	e.Err = vaulterr.Redact(e.Err, r.secretsFor(t).Redact(err.Error()))
	t.lastErr = &e
	t.failures++
	d := t.b.Next()
	t.retryAt = r.clock.Now().Add(d)
	r.recordFailure(t, &e)
	r.log.Error("template render failed", "template", t.name, "error", e.Err, "error_class", e.Class(),
		"attempt", t.failures, "retry_in", d.Round(time.Millisecond))
}

// nextWake is the earliest time a template or command retry is due.
func (r *Runner) nextWake() time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, t := range r.tmpls {
		if t.dirty {
			consider(later(t.dueAt, t.retryAt))
		}
	}
	for _, g := range r.groups {
		if g.cmdPending {
			consider(g.cmdRetryAt)
		}
		consider(g.confirm.wake())
	}
	return next
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Templates lists the templates' destinations, for logs.
func (r *Runner) Templates() string {
	names := make([]string, len(r.tmpls))
	for i, t := range r.tmpls {
		names[i] = t.name
	}
	return strings.Join(names, ", ")
}
