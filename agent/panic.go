package agent

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"
)

// PanicError is a panic in one of the agent's parts, recovered by a
// partGroup so that it stops the other parts like any fatal error and
// rotor exits non-zero with a log line naming the part, instead of
// crashing with a goroutine dump.
//
// A panic value may hold a secret (a value being rendered, a credential
// being parsed), so the error never carries it: only a runtime error's
// message, which the Go runtime writes from types and indexes, never from
// data; or else the value's type. Redacting the value with the agent's
// secrets instead would mean reading the parts' state after one of them
// died in the middle of changing it, perhaps holding its lock. With it
// come the functions the panic went through, without their arguments.
type PanicError struct {
	Part  string   // the part that panicked, e.g. "templates"
	Value string   // what may be shown of the panic value
	Stack []string // "function file:line", innermost first
}

func (e *PanicError) Error() string {
	msg := fmt.Sprintf("part %q: panic: %s", e.Part, e.Value)
	if len(e.Stack) > 0 {
		msg += " at " + strings.Join(e.Stack, " <- ")
	}
	return msg
}

// maxPanicFrames bounds PanicError.Stack: the frames nearest the panic
// say where it happened; the rest is the part's own Run loop.
const maxPanicFrames = 8

// partGroup runs the agent's long-lived parts together, as an errgroup
// does: the first part to return an error cancels the others' context,
// and Wait returns that error once all have returned. A panic in a part's
// Run is recovered into a *PanicError naming the part. Only a panic on
// the goroutine that runs the part is recovered: a part that starts its
// own goroutines answers for them.
type partGroup struct {
	g   *errgroup.Group
	ctx context.Context
	log *slog.Logger
}

// newPartGroup returns a group whose parts run with a context derived
// from ctx, cancelled when a part fails or Wait returns.
func newPartGroup(ctx context.Context, log *slog.Logger) *partGroup {
	g, ctx := errgroup.WithContext(ctx)
	return &partGroup{g: g, ctx: ctx, log: log}
}

// Go starts the part called name: run(ctx) on a new goroutine.
func (p *partGroup) Go(name string, run func(context.Context) error) {
	p.g.Go(func() error { return p.run(p.ctx, name, run) })
}

// Wait blocks until every part has returned, and returns the first error.
func (p *partGroup) Wait() error { return p.g.Wait() }

// runner is how a slot runs the part called name on its own goroutine:
// with the same recovery as Go.
func (p *partGroup) runner(name string) func(context.Context, func(context.Context) error) error {
	return func(ctx context.Context, run func(context.Context) error) error { return p.run(ctx, name, run) }
}

// run calls run(ctx) on the calling goroutine and returns its error, or
// a *PanicError if it panics (logged here, once, where it is recovered).
func (p *partGroup) run(ctx context.Context, name string, run func(context.Context) error) (err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		pe := &PanicError{Part: name, Value: panicValue(v), Stack: panicStack()}
		p.log.Error("part panicked; stopping", "part", pe.Part, "panic", pe.Value, "stack", strings.Join(pe.Stack, " <- "))
		err = pe
	}()
	return run(ctx)
}

// panicValue is what may be shown of a panic value: a runtime error's
// message, or else only the value's type (a string or an error a library
// panics with may quote the data it was given).
func panicValue(v any) string {
	if re, ok := v.(runtime.Error); ok {
		return re.Error()
	}
	return fmt.Sprintf("a value of type %T (not shown: it may hold a secret)", v)
}

// panicStack lists the frames from the one that panicked outwards, up to
// partGroup.run. It is called from run's deferred function, which runs
// on top of the panicking stack. The panic machinery's own frames
// (runtime.*) are left out.
func panicStack() []string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	var out []string
	panicking := false
	for {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			// Frames above it are the recovery's own; those below are
			// where the panic happened.
			panicking = true
		case strings.HasSuffix(f.Function, ".(*partGroup).run"):
			return out
		case panicking && !strings.HasPrefix(f.Function, "runtime.") && len(out) < maxPanicFrames:
			out = append(out, fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line))
		}
		if !more {
			return out
		}
	}
}
