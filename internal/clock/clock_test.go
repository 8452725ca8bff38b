package clock

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStep(t *testing.T) {
	for _, c := range []struct{ d, want time.Duration }{
		{500 * time.Millisecond, 500 * time.Millisecond}, // the target itself
		{4 * time.Second, time.Second},                   // never below a second
		{40 * time.Second, 5 * time.Second},              // an eighth
		{time.Hour, MaxWait},                             // never above 30s
	} {
		if got := step(c.d); got != c.want {
			t.Errorf("step(%v) = %v, want %v", c.d, got, c.want)
		}
	}
}

// A VM suspended past a renewal point: on resume, the wall clock has
// jumped but the pending timer still has its monotonic time to run. Wait
// must notice within one step (5s for a target 40s away), not 30s.
func TestWaitNoticesAWallClockJumpWithinOneStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := NewFake(t0)
		done := make(chan struct{})
		go func() {
			Wait(context.Background(), fc, t0.Add(40*time.Second), nil)
			close(done)
		}()
		synctest.Wait()
		fc.Advance(time.Second)
		synctest.Wait()
		fc.Jump(50 * time.Second) // suspended for 50s: past the target
		fc.Advance(3900 * time.Millisecond)
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("returned before the pending step ended")
		default:
		}
		fc.Advance(100 * time.Millisecond) // 5s of monotonic time since the start
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("a target the wall clock passed went unnoticed for a whole step")
		}
	})
}

// Without a jump, Wait returns exactly at its target, however far.
func TestWaitReturnsAtTheTarget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fc := NewFake(t0)
		done := make(chan struct{})
		go func() {
			Wait(context.Background(), fc, t0.Add(10*time.Minute), nil)
			close(done)
		}()
		for fc.Now().Before(t0.Add(10*time.Minute - time.Second)) {
			synctest.Wait()
			fc.Advance(time.Second)
		}
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("returned early")
		default:
		}
		fc.Advance(time.Second)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("did not return at the target")
		}
	})
}

func TestWaitWakesAndCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wake := make(chan struct{}, 1)
		wake <- struct{}{}
		if woken, err := Wait(context.Background(), Real{}, time.Now().Add(time.Hour), wake); !woken || err != nil {
			t.Fatalf("woken %v err %v", woken, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Wait(ctx, Real{}, time.Time{}, nil); err == nil {
			t.Fatal("a cancelled wait returned no error")
		}
		start := time.Now()
		if err := Sleep(context.Background(), Real{}, 90*time.Second); err != nil || time.Since(start) != 90*time.Second {
			t.Fatalf("slept %v, err %v", time.Since(start), err)
		}
	})
}
