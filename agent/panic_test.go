package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

const panicSecret = "s3cr3t-db-password-in-a-panic"

// renderPanics stands for a part's code that panics with a value
// holding a secret.
func renderPanics() { panic("rendering failed near " + panicSecret) }

// A part that panics stops the agent like a fatal error: the other
// parts are cancelled, and Wait returns an error naming the part that
// neither shows the panic value nor crashes the process.
func TestPartPanicCancelsTheOthersAndNamesThePart(t *testing.T) {
	var logs bytes.Buffer
	g := newPartGroup(t.Context(), slog.New(slog.NewTextHandler(&logs, nil)))
	cancelled := make(chan error, 1)
	g.Go("leases", func(ctx context.Context) error {
		<-ctx.Done() // returns only when the group cancels it
		cancelled <- ctx.Err()
		return nil
	})
	g.Go("templates", func(context.Context) error {
		renderPanics()
		return nil
	})
	err := g.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait returned %v (%T), want a *PanicError", err, err)
	}
	if pe.Part != "templates" || !strings.HasPrefix(err.Error(), `part "templates": panic: a value of type string`) {
		t.Errorf("error %q (part %q), want it to name part \"templates\" and the value's type", err, pe.Part)
	}
	if len(pe.Stack) == 0 || !strings.Contains(pe.Stack[0], "agent.renderPanics") {
		t.Errorf("stack %q does not start at the panicking function", pe.Stack)
	}
	if c := <-cancelled; !errors.Is(c, context.Canceled) {
		t.Errorf("the other part's context ended with %v, want it cancelled", c)
	}
	if strings.Contains(err.Error(), panicSecret) || strings.Contains(logs.String(), panicSecret) {
		t.Errorf("the panic value reached the error or the log:\n%s\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="part panicked; stopping" part=templates`) {
		t.Errorf("no log line names the part:\n%s", logs.String())
	}
}

func nth(s []string, i int) string { return s[i] }

// A runtime error's message is written by the Go runtime from types and
// indexes: it is shown, as is where it happened.
func TestPartRuntimeErrorIsShown(t *testing.T) {
	g := newPartGroup(t.Context(), slog.New(slog.DiscardHandler))
	g.Go("sinks", func(context.Context) error {
		_ = nth(nil, 3)
		return nil
	})
	err := g.Wait()
	if want := `part "sinks": panic: runtime error: index out of range [3] with length 0 at `; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q, want it to start with %q", err, want)
	}
	if !strings.Contains(err.Error(), "agent.nth ") || !strings.Contains(err.Error(), "panic_test.go:") {
		t.Errorf("error %q does not say where the panic happened", err)
	}
}

// A replaceable part (auth, templates) runs on the slot's own goroutine:
// its panic is recovered there, under the part's name, and a part that
// returns normally is not affected.
func TestSlotPartPanicIsRecovered(t *testing.T) {
	g := newPartGroup(t.Context(), slog.New(slog.DiscardHandler))
	var s slot
	s.set(func(context.Context) error { renderPanics(); return nil })
	g.Go("auth", func(ctx context.Context) error { return s.run(ctx, g.runner("auth")) })
	var pe *PanicError
	if err := g.Wait(); !errors.As(err, &pe) || pe.Part != "auth" {
		t.Fatalf("Wait returned %v, want a panic in part \"auth\"", err)
	}

	errStop := errors.New("stop")
	g = newPartGroup(t.Context(), slog.New(slog.DiscardHandler))
	s.set(func(context.Context) error { return errStop })
	g.Go("auth", func(ctx context.Context) error { return s.run(ctx, g.runner("auth")) })
	if err := g.Wait(); err != errStop {
		t.Fatalf("Wait returned %v, want the part's own error", err)
	}
}
