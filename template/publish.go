package template

import (
	"context"
	"fmt"
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/command"
)

// group is the templates that share one reload command (or a single
// template without one). A group is published whole: every file is
// checked and written first, then the command runs once.
type group struct {
	members []*tmpl
	env     bool // env_template values, published in memory to OnEnv
	command command.Command
	timeout time.Duration

	cmdPending bool
	cmdRetryAt time.Time
	cmdB       *backoff.Backoff
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
			r.fail(t, fmt.Errorf("not published, previous files kept: %w", err))
		}
		return
	}
	changed := false
	r.writeSem <- struct{}{}
	defer func() { <-r.writeSem }()
	for _, t := range fresh {
		out := outs[t]
		wrote, err := atomicfile.Write(t.cfg.Destination, out, atomicfile.Options{
			Mode: t.cfg.Perms, UID: t.uid, GID: t.gid, CreateDirs: t.cfg.CreateDestDirs, Backup: t.cfg.Backup,
			Dirs: &r.dirs, Owner: t.cfg.Owner,
		})
		if err != nil {
			r.fail(t, err)
			continue
		}
		t.output, t.rendered, t.dirty = out, true, false
		t.lastErr, t.failures = nil, 0
		t.b.Reset()
		t.retryAt = time.Time{}
		t.lastRender = r.clock.Now()
		changed = changed || wrote
		r.recordRender(t)
		r.log.Info("template rendered", "template", t.name, "changed", wrote)
	}
	if changed && !g.command.IsZero() {
		g.cmdPending = true
		g.cmdRetryAt = time.Time{}
		g.retryCommand(ctx, r)
	}
}

// retryCommand runs the group's command if it is pending and due.
func (g *group) retryCommand(ctx context.Context, r *Runner) {
	if !g.cmdPending || g.cmdRetryAt.After(r.clock.Now()) {
		return
	}
	log := r.log.With("command", g.command.String(), "templates", len(g.members))
	// A command may print what it read (a cat of the new file): its
	// output is redacted with every secret rotor holds before it is
	// logged, and logged whole only at debug level.
	res := runCommand(ctx, g.command, g.timeout, r.o.Env, r.secrets())
	r.recordCommand(g, res, r.clock.Now())
	if res.err == nil {
		g.cmdPending = false
		g.cmdB.Reset()
		log.Info("reload command succeeded", "exit_code", 0, "duration", res.duration.Round(time.Millisecond))
		if res.output != "" {
			log.Debug("reload command output", "output", res.output)
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	d := g.cmdB.Next()
	g.cmdRetryAt = r.clock.Now().Add(d)
	log.Error("reload command failed", "exit_code", res.exitCode, "error", res.err, "output", lastLines(res.output), "retry_in", d.Round(time.Millisecond))
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
