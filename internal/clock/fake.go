package clock

import (
	"sync"
	"time"
)

// Fake is a manually advanced clock for tests. It keeps a wall clock (Now)
// and a monotonic one (what After counts), which Jump separates the way a
// VM suspend does.
type Fake struct {
	mu      sync.Mutex
	now     time.Time     // wall clock
	mono    time.Duration // monotonic clock, from the start
	waiters []waiter
}

type waiter struct {
	at time.Duration // on the monotonic clock
	ch chan time.Time
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake wall-clock time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After fires once the monotonic clock has moved d on.
func (f *Fake) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, waiter{at: f.mono + d, ch: ch})
	return ch
}

// Waiters reports how many After channels are pending; tests poll it to
// know a goroutine has gone to sleep.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// Advance moves both clocks forward and fires due timers.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	f.mono += d
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.at <= f.mono {
			w.ch <- f.now
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

// Jump moves the wall clock only, as a suspended VM sees on resume: time
// went by, but no timer ran meanwhile.
func (f *Fake) Jump(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}
