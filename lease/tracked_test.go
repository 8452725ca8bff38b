package lease

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A proxied lease is renewed on time with the token that asked for it
// (not rotor's), and when renewal can go no further (its max TTL) it is
// released and Gone is called, never fetched again.
func TestTrackedLeaseRenewedThenReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 30*time.Second, 100*time.Second, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		id := fv.issue("app", "app-token", time.Now())
		var gone atomic.Int32
		r.Track(Tracked{ID: "c1", LeaseID: id, Token: "app-token", TTL: 30 * time.Second, Issued: time.Now(),
			Gone: func() { gone.Add(1) }})
		sleep(25 * time.Second)
		renews := fv.requests("PUT sys/leases/renew")
		if len(renews) != 1 || renews[0].token != "app-token" || renews[0].leaseID != id {
			t.Fatalf("after 25s: renewals %+v, want one with the app's token", renews)
		}
		sleep(2 * time.Minute)
		if gone.Load() != 1 {
			t.Fatalf("Gone called %d times after the max TTL, want 1", gone.Load())
		}
		if n := len(fv.requests("GET database/creds/")); n != 0 {
			t.Fatalf("a proxied lease was fetched again (%d fetches)", n)
		}
		if !fv.lease(id).expires.After(time.Now().Add(-time.Minute)) {
			t.Fatal("the lease lapsed before its max TTL")
		}
		for _, st := range r.Status() {
			if st.Key == trackedKey("c1") {
				t.Fatal("a released proxied lease is still held")
			}
		}
	})
}

// An evicted entry stops being renewed; a restored one (no issue time) is
// renewed at once, and a lease gone from Vault is released.
func TestTrackedUntrackAndRestore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Minute, time.Hour, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		id := fv.issue("app", "app-token", time.Now())
		r.Track(Tracked{ID: "c1", LeaseID: id, Token: "app-token", TTL: time.Minute, Issued: time.Now()})
		r.Untrack("c1")
		sleep(5 * time.Minute)
		if n := len(fv.requests("PUT sys/leases/renew")); n != 0 {
			t.Fatalf("an untracked lease was renewed %d times", n)
		}
		var gone atomic.Int32
		r.Track(Tracked{ID: "c2", LeaseID: "database/creds/app/nope", Token: "app-token", TTL: time.Minute,
			Gone: func() { gone.Add(1) }})
		sleep(time.Second)
		if n := len(fv.requests("PUT sys/leases/renew")); n != 1 || gone.Load() != 1 {
			t.Fatalf("restored unknown lease: %d renewals, Gone %d; want 1 and 1", n, gone.Load())
		}
	})
}

// A proxied token (no lease ID) is renewed with its own renew-self, again
// and again, and stays held: it is not taken for a secret to fetch.
func TestTrackedTokenKeptAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		var gone atomic.Int32
		r.Track(Tracked{ID: "t1", Token: "child-token", TTL: time.Minute, Issued: time.Now(), Gone: func() { gone.Add(1) }})
		sleep(3 * time.Minute)
		renews := fv.requests("PUT auth/token/renew-self")
		if len(renews) < 4 || renews[0].token != "child-token" {
			t.Fatalf("after 3m: %d renew-self requests (first %+v), want one every ~40s with the child's token", len(renews), renews)
		}
		if gone.Load() != 0 {
			t.Fatal("a renewable proxied token was released")
		}
		held := false
		for _, st := range r.Status() {
			held = held || st.Key == trackedKey("t1")
		}
		if !held {
			t.Fatal("the proxied token is no longer held")
		}
	})
}

// A listener client's token that dies (it revoked itself) makes its
// proxied lease's renewal fail with 403: that lease is released, and
// rotor's own token is not taken for dead, so no client can make rotor log
// in again.
func TestTrackedDeadClientTokenIsNotRotors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 30*time.Second, time.Hour, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		id := fv.issue("app", "app-token", time.Now())
		var gone atomic.Int32
		r.Track(Tracked{ID: "c1", LeaseID: id, Token: "app-token", TTL: 30 * time.Second, Issued: time.Now(),
			Gone: func() { gone.Add(1) }})
		fv.kill("app-token")
		sleep(time.Minute)
		r.mu.Lock()
		invalid := len(r.invalid)
		r.mu.Unlock()
		if invalid != 0 {
			t.Fatalf("a dead client token made rotor take its own token for dead (%d InvalidToken calls)", invalid)
		}
		if gone.Load() != 1 {
			t.Fatalf("Gone called %d times, want 1: the proxied lease should be released", gone.Load())
		}
	})
}
