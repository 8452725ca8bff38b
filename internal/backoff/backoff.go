// Package backoff is rotor's one retry policy: exponential between Min and
// Max, jittered, reset on success.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff yields growing, jittered waits. The zero value is not usable;
// build one with New. It is not safe for concurrent use: each retry loop
// owns its own.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
	rand     func() float64
}

// New returns a policy starting at min and doubling up to max.
func New(min, max time.Duration) *Backoff {
	if min <= 0 {
		min = time.Second
	}
	if max < min {
		max = min
	}
	return &Backoff{Min: min, Max: max, rand: rand.Float64}
}

// WithRand replaces the random source (tests).
func (b *Backoff) WithRand(f func() float64) *Backoff { b.rand = f; return b }

// Next returns the next wait: the current step less up to 25% jitter, so
// many agents failing together do not retry in lockstep.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	} else {
		b.cur = min(2*b.cur, b.Max)
	}
	return Jitter(b.cur, 0.25, b.rand())
}

// Reset starts again from Min, after a success.
func (b *Backoff) Reset() { b.cur = 0 }

// Jitter shortens d by up to frac of itself: r in [0,1) picks how much.
// It never lengthens d, so a deadline computed with it stays a deadline.
func Jitter(d time.Duration, frac, r float64) time.Duration {
	return d - time.Duration(float64(d)*frac*r)
}
