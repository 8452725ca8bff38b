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

// Wait blocks until c.Now() reaches t (forever when t is zero), wake
// receives (woken is true), or ctx is done (err is ctx.Err()). wake may be
// nil. This is the one sleep of every scheduling loop in rotor.
func Wait(ctx context.Context, c Clock, t time.Time, wake <-chan struct{}) (woken bool, err error) {
	for {
		var timer <-chan time.Time
		if !t.IsZero() {
			d := t.Sub(c.Now())
			if d <= 0 {
				return false, nil
			}
			timer = c.After(min(d, MaxWait))
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-wake:
			return true, nil
		case <-timer:
		}
	}
}

// Sleep blocks for d or until ctx is done.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	_, err := Wait(ctx, c, c.Now().Add(d), nil)
	return err
}
