package template

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/phases"
)

// group is the templates that share one reload command (or a single
// template without one). A group is published whole: every file is
// checked and written first, then the command runs once.
type group struct {
	members []*tmpl
	env     bool // env_template values, published in memory to OnEnv
	command command.Command
	timeout time.Duration

	cmdPending bool // the files changed since the command last ran
	cmdRunning bool // the command runs now (in its own goroutine)
	cmdRetryAt time.Time
	cmdB       *backoff.Backoff

	confirm *confirmState // nil: no member has a confirm block
}

func groupByCommand(ts []*tmpl) []*group {
	var out []*group
	byKey := map[string]*group{}
	for _, t := range ts {
		if t.cfg.Command.IsZero() {
			out = append(out, &group{members: []*tmpl{t}})
			continue
		}
		k := t.cfg.Command.Key()
		g, ok := byKey[k]
		if !ok {
			g = &group{command: t.cfg.Command, cmdB: backoff.New(time.Second, 5*time.Minute)}
			byKey[k] = g
			out = append(out, g)
		}
		g.members = append(g.members, t)
		g.timeout = max(g.timeout, t.cfg.CommandTimeout)
	}
	for _, g := range out {
		g.confirm = newConfirmState(g.members)
	}
	return out
}

// publish writes the members rendered in this pass. A certificate and key
// in the group are checked together first; if they do not match, nothing
// is written and the previous files stay in place.
func (g *group) publish(ctx context.Context, r *Runner, outs map[*tmpl][]byte) {
	var fresh []*tmpl
	for _, t := range g.members {
		if _, ok := outs[t]; ok {
			fresh = append(fresh, t)
		}
	}
	if len(fresh) == 0 {
		return
	}
	if g.env {
		g.publishEnv(r, outs)
		return
	}
	// The group's files as they will be after this publish.
	var contents [][]byte
	for _, t := range g.members {
		if out, ok := outs[t]; ok {
			contents = append(contents, out)
		} else if t.output != nil {
			contents = append(contents, t.output)
		}
	}
	if err := checkPEM(contents, r.clock.Now()); err != nil {
		for _, t := range fresh {
			t.staged = nil // writeToFile writes only what is published
			r.fail(t, KindPublish, fmt.Errorf("not published, previous files kept: %w", err))
		}
		return
	}
	changed := false
	r.writeSem <- struct{}{}
	defer func() { <-r.writeSem }()
	// writeToFile's files come first, as consul-template writes them while
	// it executes the template: one that cannot be written fails the
	// group, which is then not published.
	for _, t := range fresh {
		if err := t.doWrites(); err != nil {
			for _, t := range fresh {
				t.staged = nil
				r.fail(t, KindPublish, fmt.Errorf("not published, previous files kept: %w", err))
			}
			return
		}
	}
	// The group's files are written in two phases (atomicfile.WriteGroup):
	// all temporary files first, then the renames back to back, with a
	// journal that lets the next start finish them after a crash. A
	// certificate is never left beside its old key.
	items := make([]atomicfile.Item, len(fresh))
	for i, t := range fresh {
		items[i] = atomicfile.Item{Path: t.cfg.Destination, Data: outs[t], Options: r.writeOptions(t)}
	}
	began := r.o.Phases.Begin()
	wroteAll, err := atomicfile.WriteGroup(items)
	r.o.Phases.End(phases.Write, began)
	if err != nil {
		// Files not renamed keep their previous content; the journal, if
		// any, finishes the renames at the next start.
		for i, t := range fresh {
			if !wroteAll[i] {
				r.fail(t, KindPublish, err)
			}
		}
	}
	for i, t := range fresh {
		out, wrote := outs[t], wroteAll[i]
		if err != nil && !wrote {
			continue
		}
		r.seen(t.cfg.Destination)
		if !t.rendered {
			r.watchDirty.Store(true) // its destination is watched from now on
		}
		t.output, t.rendered, t.dirty = out, true, false
		t.lastErr, t.failures = nil, 0
		t.b.Reset()
		t.retryAt = time.Time{}
		t.lastRender = r.clock.Now()
		t.holdMark = t.nextMark
		changed = changed || wrote
		r.recordRender(t)
		r.log.Info("template rendered", "template", t.name, "changed", wrote)
	}
	if g.confirm != nil && (changed || !g.confirm.started) {
		// Before the command starts: the checks wait for it.
		g.startConfirm(r, changed)
	}
	if changed && !g.command.IsZero() {
		g.cmdPending = true
		g.cmdRetryAt = time.Time{}
		g.retryCommand(ctx, r)
	}
}

// retryCommand starts the group's command if it is pending, due, and
// not running already. The command runs in a goroutine of its own: a
// slow or hanging reload command (up to its timeout) holds up its own
// group only, never other templates' renders. Its result comes back
// through finishCommands.
func (g *group) retryCommand(ctx context.Context, r *Runner) {
	if !g.cmdPending || g.cmdRunning || g.cmdRetryAt.After(r.clock.Now()) {
		return
	}
	// Files changed while the command runs set cmdPending again (publish),
	// and it runs once more after this run: it must see the last files.
	g.cmdPending, g.cmdRunning = false, true
	// The group's own goroutine (publish) or the runner's, once no render
	// runs (pass, after renderGroups), reads the members' file contents here.
	env, secrets := r.o.Env, r.secretsFor(g.members...)
	r.cmdWG.Add(1)
	go func() {
		defer r.cmdWG.Done()
		// A command may print what it read (a cat of the new file): its
		// output is redacted with every secret rotor holds before it is
		// logged, and logged whole only at debug level.
		began := r.o.Phases.Begin()
		res := runCommand(ctx, g.command, g.timeout, env, secrets)
		r.o.Phases.End(phases.Reload, began)
		r.cmdMu.Lock()
		r.cmdDone = append(r.cmdDone, cmdReport{g: g, res: res})
		r.cmdMu.Unlock()
		r.poke()
	}()
}

// cmdReport is a finished command, for the runner's goroutine.
type cmdReport struct {
	g   *group
	res cmdResult
}

// finishCommands records the commands that finished since the last pass:
// success, or a retry with the group's backoff. Runner goroutine only.
func (r *Runner) finishCommands(ctx context.Context) {
	r.cmdMu.Lock()
	done := r.cmdDone
	r.cmdDone = nil
	r.cmdMu.Unlock()
	for _, d := range done {
		g, res := d.g, d.res
		g.cmdRunning = false
		log := r.log.With("command", g.command.String(), "templates", len(g.members))
		r.recordCommand(g, res, r.clock.Now())
		if res.err == nil {
			g.cmdB.Reset()
			g.commandDone(r.clock.Now())
			log.Info("reload command succeeded", "exit_code", 0, "duration", res.duration.Round(time.Millisecond))
			if res.output != "" {
				log.Debug("reload command output", "output", res.output)
			}
			continue
		}
		if ctx.Err() != nil {
			continue
		}
		g.cmdPending = true
		d := g.cmdB.Next()
		g.cmdRetryAt = r.clock.Now().Add(d)
		log.Error("reload command failed", "error_class", KindCommand.String(), "exit_code", res.exitCode, "error", res.err, "output", lastLines(res.output), "retry_in", d.Round(time.Millisecond))
	}
}

// commandsRunning reports whether a reload command runs now.
func (r *Runner) commandsRunning() bool {
	for _, g := range r.groups {
		if g.cmdRunning {
			return true
		}
	}
	return false
}

// Pending returns the commands (by Key) that have yet to run successfully
// for the files rotor wrote: a reload carries them over, so a failed
// reload command is retried by the new runner too. Call it after Run has
// returned.
func (r *Runner) Pending() []string {
	var out []string
	for _, g := range r.groups {
		if !g.command.IsZero() && (g.cmdPending || g.cmdRunning) {
			out = append(out, g.command.Key())
		}
	}
	return out
}

// inherit marks pending the groups whose commands a previous runner had
// not run successfully yet.
func (r *Runner) inherit(keys []string) {
	for _, g := range r.groups {
		if !g.command.IsZero() && slices.Contains(keys, g.command.Key()) {
			g.cmdPending, g.cmdRetryAt = true, time.Time{}
			r.log.Info("reload command still owed from before the reload; it will run", "command", g.command.String())
		}
	}
}

// publishEnv keeps env_template values in memory (they never touch disk)
// and hands the whole environment to OnEnv when a value changed.
func (g *group) publishEnv(r *Runner, outs map[*tmpl][]byte) {
	changed := false
	for _, t := range g.members {
		out, ok := outs[t]
		if !ok {
			continue
		}
		if err := t.doWrites(); err != nil {
			r.fail(t, KindPublish, err)
			continue
		}
		changed = changed || !t.rendered || string(out) != string(t.output)
		t.output, t.rendered, t.dirty = out, true, false
		t.lastErr, t.failures, t.retryAt = nil, 0, time.Time{}
		t.b.Reset()
		t.lastRender = r.clock.Now()
		r.recordRender(t)
	}
	if !changed || r.o.OnEnv == nil {
		return
	}
	env := map[string]string{}
	for _, t := range g.members {
		if t.rendered {
			env[t.envName] = string(t.output)
		}
	}
	r.log.Info("environment rendered", "variables", len(env))
	r.o.OnEnv(env)
}
