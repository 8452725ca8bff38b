package backoff

import (
	"testing"
	"time"
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
