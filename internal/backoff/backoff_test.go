package backoff

import (
	"testing"
	"time"

	cbackoff "github.com/cenkalti/backoff/v4"
)

func TestBackoffGrowsCapsAndResets(t *testing.T) {
	b := New(time.Second, 5*time.Second).WithRand(func() float64 { return 0 })
	var got []time.Duration
	for range 5 {
		got = append(got, b.Next())
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("step %d: got %v want %v (all %v)", i, got[i], want[i], got)
		}
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Fatalf("after reset got %v", d)
	}
}

func TestJitterStaysWithinBounds(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		d := Jitter(time.Minute, 0.25, r)
		if d > time.Minute || d < 45*time.Second {
			t.Fatalf("r=%v: %v out of [45s,60s]", r, d)
		}
	}
	if Jitter(time.Minute, 0.25, 0.5) != 52500*time.Millisecond {
		t.Fatal("jitter must be a real fraction, not integer-divided to zero")
	}
}

// rotor keeps its own backoff because its jitter only shortens a wait: a
// retry planned before a lease's deadline stays before it. cenkalti's
// (already in the module graph) randomizes both ways; this measures how
// often its waits come out longer than the interval asked for.
func TestLibraryJitterCanPassADeadline(t *testing.T) {
	lib := cbackoff.NewExponentialBackOff()
	lib.InitialInterval, lib.Multiplier, lib.MaxInterval = 10*time.Second, 1, 10*time.Second
	lib.MaxElapsedTime = 0
	lib.Reset()
	ours := New(10*time.Second, 10*time.Second)
	longer, longest := 0, time.Duration(0)
	const n = 10000
	for range n {
		d := lib.NextBackOff()
		if d > 10*time.Second {
			longer++
		}
		longest = max(longest, d)
		if o := ours.Next(); o > 10*time.Second {
			t.Fatalf("rotor's backoff lengthened a wait: %v", o)
		}
	}
	t.Logf("cenkalti/backoff: %d of %d waits longer than asked, up to %v (rotor's: none)", longer, n, longest)
	if longer < n/3 || longest <= 10*time.Second {
		t.Fatalf("the library's jitter no longer lengthens waits (%d of %d, max %v): reconsider using it", longer, n, longest)
	}
}
