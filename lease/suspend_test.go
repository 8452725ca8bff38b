package lease

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rotorproject/rotor/internal/clock"
)

// A VM suspended past a renewal point: when it resumes, the wall clock
// has jumped but the timers have not run. The renewal must happen within
// one wait step (here 1.33s: an eighth of the 10.67s that were left),
// not when the pending 10.67s timer ends, at 27.67s on the wall clock,
// after this 20s lease expired.
func TestRenewsPromptlyAfterASuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 20*time.Second, 0, true)
		fc := clock.NewFake(time.Now())
		s := NewStore(Options{Client: memClient(t, fv), Clock: fc, Rand: func() float64 { return 0 },
			Policy: Policy{Threshold: 0.9, StaticInterval: time.Hour}})
		s.SetToken(token("t1", 1, time.Hour, time.Time{}))
		ref := creds("app")
		if errs := s.Fetch(context.Background(), []Ref{ref}); len(errs) > 0 {
			t.Fatal(errs)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go s.Run(ctx)
		synctest.Wait()
		// Renewal due at 2/3 of 19s = 12.67s. Suspended at 2s for 15s.
		fc.Advance(2 * time.Second)
		synctest.Wait()
		if n := len(fv.requests("PUT sys/leases/renew")); n != 0 {
			t.Fatal("renewed before the renewal point")
		}
		fc.Jump(15 * time.Second)
		for range 14 {
			fc.Advance(100 * time.Millisecond)
			synctest.Wait()
		}
		if n := len(fv.requests("PUT sys/leases/renew")); n != 1 {
			t.Fatalf("%d renewals 1.4s after the resume, want 1", n)
		}
		st := s.Status()[0]
		if !st.Expires.After(fc.Now()) {
			t.Fatalf("lease expired: %+v", st)
		}
		cancel()
		synctest.Wait()
	})
}
