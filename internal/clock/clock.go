// Package clock lets scheduling code be driven by a fake clock in tests.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits. Real is the production clock.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the wall-clock time (no monotonic reading, so comparisons
// follow the wall clock across a suspend).
func (Real) Now() time.Time { return time.Now().Round(0) }

// After is time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// MaxWait bounds one wait: deadlines are re-checked against the wall clock
// at least this often, so a suspended VM (whose monotonic timers stopped)
// cannot sleep through a renewal.
const MaxWait = 30 * time.Second

// SleepUntil blocks until c.Now() reaches t, ctx is done (returns ctx.Err()),
// or wake receives (returns nil early). wake may be nil.
func SleepUntil(ctx context.Context, c Clock, t time.Time, wake <-chan struct{}) error {
	for {
		d := t.Sub(c.Now())
		if d <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			return nil
		case <-c.After(min(d, MaxWait)):
		}
	}
}

// Sleep blocks for d or until ctx is done.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	return SleepUntil(ctx, c, c.Now().Add(d), nil)
}
