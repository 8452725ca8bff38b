// Package clock lets scheduling code be driven by a fake clock in tests.
package clock

import (
	"context"
	"time"
)

// Clock tells the time and waits. Real is the production clock.
type Clock interface {
	// Now is the wall-clock time: what deadlines are compared with.
	Now() time.Time
	// After returns a channel that receives once d has passed on the
	// monotonic clock (which stops while a VM is suspended).
	After(d time.Duration) <-chan time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the wall-clock time (no monotonic reading, so comparisons
// follow the wall clock across a suspend).
func (Real) Now() time.Time { return time.Now().Round(0) }

// After is time.After.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// MaxWait bounds one sleep: deadlines are re-checked against the wall
// clock at least this often.
const MaxWait = 30 * time.Second

// minStep is the shortest re-check step for a target further away than it.
const minStep = time.Second

// step is how long Wait sleeps at once when the target is d away: an
// eighth of it, between minStep and MaxWait. Timers run on the monotonic
// clock, which a suspended VM stops, so after a resume Wait notices a
// target the wall clock has passed within one step: at most 1/8 of the
// time that was left (never more than 30s, and 1s for targets within 8s),
// instead of a full 30s that would let a short lease expire. Near its
// target Wait wakes more often; that costs a few wake-ups per action.
// After SIGSTOP/SIGCONT the monotonic clock has run on, so the pending
// timer fires at once on SIGCONT and Wait returns then.
func step(d time.Duration) time.Duration {
	return min(d, max(d/8, minStep), MaxWait)
}

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
			timer = c.After(step(d))
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
