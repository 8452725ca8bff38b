package template

import (
	"context"
	"slices"
	"sort"
	"time"
)

// Closed-loop rotation. A group whose members have confirm blocks is not
// done when its files are written and its reload command exits 0: rotor
// then checks that the consumer uses the new files, every Interval until
// it does. Until then the leases the new files replaced are held by the
// store (lease.Store.Guard): renewed, never revoked. While the consumer
// is not confirmed, the reload command runs again at Reloads points spread
// over the timeout (and the exec child is restarted at the last one, with
// RestartExec); once the timeout passes, the template's status says
// "unconfirmed", /readyz lists it as degraded, and checks go on, slower,
// until one succeeds. A confirmation releases the held leases of the
// secrets the group uses, once every confirming group using them is
// confirmed.

// Confirm states, as template.Status reports them.
const (
	ConfirmPending     = "pending"
	ConfirmConfirmed   = "confirmed"
	ConfirmUnconfirmed = "unconfirmed"
)

// confirmState is a group's confirmation. Touched by the group's render
// worker (start, in publish) and by the runner's goroutine, never at the
// same time (see group).
type confirmState struct {
	checks      []confirmCheck
	timeout     time.Duration
	interval    time.Duration
	reloads     int
	restartExec bool

	started   bool   // a publish was confirmed or awaited by this runner
	gen       uint64 // the publish being confirmed; stale results are dropped
	pending   bool   // that publish is not confirmed yet
	confirmed bool   // the last publish was confirmed
	since     time.Time
	deadline  time.Time
	timedOut  bool
	waitCmd   bool        // the reload command has not succeeded since the publish
	steps     []time.Time // escalation points still ahead
	tryAt     time.Time
	running   bool
	failures  int // failed checks of this publish
	lastClass string
}

// confirmCheck is one member's confirm block.
type confirmCheck struct {
	t *tmpl
	c Confirm
}

// newConfirmState gathers the confirm blocks of g's members (nil: none).
func newConfirmState(members []*tmpl) *confirmState {
	var cs *confirmState
	for _, t := range members {
		if t.cfg.Confirm == nil {
			continue
		}
		c := *t.cfg.Confirm
		if c.Timeout <= 0 {
			c.Timeout = DefaultConfirmTimeout
		}
		if c.Interval <= 0 {
			c.Interval = DefaultConfirmInterval
		}
		if cs == nil {
			cs = &confirmState{interval: c.Interval}
		}
		cs.checks = append(cs.checks, confirmCheck{t: t, c: c})
		cs.timeout = max(cs.timeout, c.Timeout)
		cs.interval = min(cs.interval, c.Interval)
		cs.reloads = max(cs.reloads, c.Reloads)
		cs.restartExec = cs.restartExec || c.RestartExec
	}
	return cs
}

// startConfirm begins confirming what g just published. ran says the
// reload command is to run for it (the files changed).
func (g *group) startConfirm(r *Runner, ran bool) {
	cs := g.confirm
	if cs == nil || r.o.Once {
		return
	}
	now := r.clock.Now()
	cs.started, cs.pending, cs.confirmed, cs.timedOut = true, true, false, false
	cs.gen++
	cs.since, cs.deadline = now, now.Add(cs.timeout)
	cs.waitCmd = ran && !g.command.IsZero()
	cs.tryAt, cs.failures, cs.lastClass = now, 0, ""
	cs.steps = cs.steps[:0]
	for i := 1; i <= cs.reloads; i++ {
		cs.steps = append(cs.steps, now.Add(cs.timeout*time.Duration(i)/time.Duration(cs.reloads+1)))
	}
	for _, t := range g.members {
		r.record(t, func(s *Status) { s.Confirm, s.ConfirmSince, s.ConfirmClass, s.ConfirmErr = ConfirmPending, now, "", "" })
	}
}

// commandDone tells the confirmation that g's reload command succeeded:
// the consumer may have the new files now.
func (g *group) commandDone(now time.Time) {
	if cs := g.confirm; cs != nil && cs.pending {
		cs.waitCmd, cs.tryAt = false, now
	}
}

// confirmReport is a finished check, for the runner's goroutine.
type confirmReport struct {
	g   *group
	gen uint64
	err *confirmError
}

// stepConfirm escalates, times out and starts checks for g as they come
// due. Runner goroutine only.
func (g *group) stepConfirm(ctx context.Context, r *Runner) {
	cs := g.confirm
	if cs == nil || !cs.pending {
		return
	}
	now := r.clock.Now()
	for len(cs.steps) > 0 && !cs.steps[0].After(now) {
		cs.steps = cs.steps[1:]
		last := len(cs.steps) == 0
		log := r.log.With("templates", g.names(), "after", now.Sub(cs.since).Round(time.Second), "reason", cs.reason())
		if !g.command.IsZero() && !g.cmdPending && !g.cmdRunning {
			log.Warn("consumer not confirmed on the new files; running the reload command again", "command", g.command.String())
			g.cmdPending, g.cmdRetryAt = true, time.Time{}
			g.retryCommand(ctx, r)
		}
		if last && cs.restartExec && r.o.RestartExec != nil {
			log.Warn("consumer not confirmed on the new files; restarting the exec child")
			r.o.RestartExec()
		}
	}
	if !cs.timedOut && !now.Before(cs.deadline) {
		cs.timedOut = true
		class := cs.reason()
		for _, t := range g.members {
			r.record(t, func(s *Status) { s.Confirm, s.ConfirmClass = ConfirmUnconfirmed, class; s.ConfirmFailures++ })
			if r.o.OnConfirm != nil {
				r.o.OnConfirm(t.name, 0, false)
			}
		}
		r.log.Error("published, not confirmed: the consumer does not use the new files; the leases they replaced are kept",
			"templates", g.names(), "timeout", cs.timeout, "reason", class)
	}
	if cs.running || cs.waitCmd || cs.tryAt.After(now) {
		return
	}
	cs.running = true
	probes := make([]probe, len(cs.checks))
	env := r.o.Env
	for i, ck := range cs.checks {
		probes[i] = probe{c: ck.c, env: env, secrets: r.secretsFor(g.members...)}
		if ck.c.TLS != "" {
			probes[i].want = g.renderedLeaf(ck.t)
		}
	}
	gen := cs.gen
	r.cmdWG.Add(1)
	go func() {
		defer r.cmdWG.Done()
		var err *confirmError
		for _, p := range probes {
			if err = p.run(ctx); err != nil {
				break
			}
		}
		r.cmdMu.Lock()
		r.confirmDone = append(r.confirmDone, confirmReport{g: g, gen: gen, err: err})
		r.cmdMu.Unlock()
		r.poke()
	}()
}

// reason is why g is not confirmed yet, as a class.
func (cs *confirmState) reason() string {
	if cs.waitCmd {
		return ConfirmReloadPending
	}
	if cs.lastClass == "" {
		return ConfirmCheckFailed
	}
	return cs.lastClass
}

// renderedLeaf is the leaf certificate the tls check of t's confirm block
// expects: the first certificate of t's own file, else of another file
// of its group.
func (g *group) renderedLeaf(t *tmpl) []byte {
	if der := leafIn(t.output); der != nil {
		return der
	}
	for _, m := range g.members {
		if der := leafIn(m.output); der != nil {
			return der
		}
	}
	return nil
}

// finishConfirms records the checks that finished since the last pass.
// Runner goroutine only.
func (r *Runner) finishConfirms(ctx context.Context) {
	r.cmdMu.Lock()
	done := r.confirmDone
	r.confirmDone = nil
	r.cmdMu.Unlock()
	for _, d := range done {
		cs := d.g.confirm
		cs.running = false
		if d.gen != cs.gen || !cs.pending || ctx.Err() != nil {
			continue // a newer publish is being confirmed
		}
		now := r.clock.Now()
		if d.err != nil {
			cs.failures++
			cs.lastClass = d.err.class
			wait := cs.interval
			if cs.timedOut {
				// Past the timeout, checks go on slower, up to a minute
				// apart: a late reload is still noticed.
				wait = min(confirmMaxInterval, cs.interval<<min(cs.failures/5, 5))
			}
			cs.tryAt = now.Add(wait)
			msg := d.err.msg
			for _, t := range d.g.members {
				r.record(t, func(s *Status) { s.ConfirmClass, s.ConfirmErr = d.err.class, msg })
			}
			r.log.Debug("consumer not confirmed yet", "templates", d.g.names(), "reason", d.err.class, "error", msg, "retry_in", wait)
			continue
		}
		took := now.Sub(cs.since)
		cs.pending, cs.confirmed, cs.steps = false, true, nil
		for _, t := range d.g.members {
			r.record(t, func(s *Status) {
				s.Confirm, s.ConfirmedAt, s.ConfirmSeconds, s.ConfirmClass, s.ConfirmErr = ConfirmConfirmed, now, took.Seconds(), "", ""
			})
			if r.o.OnConfirm != nil {
				r.o.OnConfirm(t.name, took, true)
			}
		}
		r.log.Info("consumer confirmed on the new files", "templates", d.g.names(), "after", took.Round(time.Millisecond), "late", cs.timedOut)
		r.releaseHeld(d.g)
	}
}

// guardKeys tells the store which secrets confirming groups use: their
// replaced leases are held until released. Runner goroutine only.
func (r *Runner) guardKeys() {
	if r.store == nil || r.o.Once {
		return
	}
	var keys []string
	for _, g := range r.groups {
		if g.confirm == nil {
			continue
		}
		for _, t := range g.members {
			for k := range t.used {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	keys = slices.Compact(keys)
	if r.guarded != nil && slices.Equal(keys, r.guarded) {
		return
	}
	r.guarded = append([]string{}, keys...)
	r.store.Guard(keys)
}

// releaseHeld releases the leases held for the secrets g uses, up to
// what g's confirmed renders read, once every confirming group using
// them is confirmed (each up to its own renders: the earliest mark).
func (r *Runner) releaseHeld(g *group) {
	if r.store == nil {
		return
	}
	for _, m := range g.members {
		for k := range m.used {
			mark, ok := r.confirmedMark(k)
			if ok {
				r.store.Release(k, mark)
			}
		}
	}
}

// confirmedMark is the earliest hold mark of the confirming templates
// that use key k; false while one of their groups is not confirmed.
func (r *Runner) confirmedMark(k string) (uint64, bool) {
	var mark uint64
	first := true
	for _, g := range r.groups {
		if g.confirm == nil {
			continue
		}
		for _, t := range g.members {
			if _, uses := t.used[k]; !uses {
				continue
			}
			if !g.confirm.confirmed {
				return 0, false
			}
			if first || t.holdMark < mark {
				mark, first = t.holdMark, false
			}
		}
	}
	return mark, !first
}

// confirmWake is the earliest time g's confirmation needs the runner.
func (cs *confirmState) wake() time.Time {
	if cs == nil || !cs.pending {
		return time.Time{}
	}
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if len(cs.steps) > 0 {
		consider(cs.steps[0])
	}
	if !cs.timedOut {
		consider(cs.deadline)
	}
	if !cs.running && !cs.waitCmd {
		consider(cs.tryAt)
	}
	return next
}

// names lists g's templates, for logs.
func (g *group) names() []string {
	out := make([]string, len(g.members))
	for i, t := range g.members {
		out[i] = t.name
	}
	return out
}
