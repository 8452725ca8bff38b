package lease

import (
	"testing"
	"testing/synctest"
	"time"
)

// refetchedWith waits (in fake time) until the secret is fetched again and
// returns that request.
func refetchedWith(t *testing.T, fv *memVault, ref Ref, n int, until time.Time) request {
	t.Helper()
	for {
		if q := fv.requests("GET " + ref.Path); len(q) >= n {
			return q[n-1]
		}
		if !time.Now().Before(until) {
			t.Fatalf("%s not fetched again by %v", ref, until)
		}
		sleep(100 * time.Millisecond)
	}
}

// Race 1: a template's fetch is in flight when a new login arrives. The
// lease it brings back belongs to the old token (Vault revokes it with
// that token), so it must be fetched again, with the new token, before
// the old token dies, not renewed for an hour.
func TestFetchInFlightWhenNewTokenArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Hour, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		release := make(chan struct{})
		fv.fault("database/creds/app", &fault{hang: release})
		done := make(chan struct{})
		go func() { r.fetch(t, ref); close(done) }()
		synctest.Wait()
		death := time.Now().Add(30 * time.Second)
		if err := r.SetToken(token("t2", 2, time.Hour, death)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		fv.fault("database/creds/app", nil)
		close(release)
		<-done
		synctest.Wait()
		if q := fv.requests("GET database/creds/app"); q[0].token != "t1" {
			t.Fatalf("the first fetch used %s", q[0].token)
		}
		st := r.status(t, ref.Key())
		if !st.Expires.Equal(death) || !st.TokenBound || st.NextAction != "refetch" || !st.NextAt.Before(death) {
			t.Fatalf("status %+v: want a re-fetch planned before the old token dies at %v", st, death)
		}
		q := refetchedWith(t, fv, ref, 2, death)
		if q.token != "t2" {
			t.Fatalf("re-fetched with %s, want the new token", q.token)
		}
		if st := r.status(t, ref.Key()); st.TokenBound || st.NextAction != "renew" {
			t.Fatalf("after the re-fetch: %+v", st)
		}
	})
}

// Race 2: a lease's renewal is in flight when a new login arrives. The
// renewal comes back extending the lease by an hour, but the lease still
// dies with the old token: it must be fetched again before that.
func TestRenewalInFlightWhenNewTokenArrives(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Hour, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		release := make(chan struct{})
		fv.fault("database/creds/app/", &fault{hang: release})
		sleep(40 * time.Minute) // the renewal is in flight
		if q := fv.requests("PUT sys/leases/renew"); len(q) != 1 || q[0].cancelled {
			t.Fatalf("renewal not in flight: %+v", q)
		}
		death := time.Now().Add(time.Minute)
		r.SetToken(token("t2", 2, time.Hour, death))
		synctest.Wait()
		fv.fault("database/creds/app/", nil)
		close(release)
		synctest.Wait()
		st := r.status(t, ref.Key())
		if st.NextAction != "refetch" || !st.NextAt.Before(death) || !st.Expires.Equal(death) {
			t.Fatalf("status after the renewal %+v: want a re-fetch before %v", st, death)
		}
		if q := refetchedWith(t, fv, ref, 2, death); q.token != "t2" {
			t.Fatalf("re-fetched with %s", q.token)
		}
		if n := len(fv.requests("PUT sys/leases/renew")); n != 1 {
			t.Fatalf("%d renewals: a lease of the old token was renewed again", n)
		}
	})
}

// A lease that ends before the old token does is not in the spread of
// re-fetches, but is not renewed any more either: renewing it keeps it
// tied to a token that is going away.
func TestLeaseOfAReplacedTokenIsNotRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 30*time.Second, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		death := time.Now().Add(10 * time.Minute)
		r.SetToken(token("t2", 2, time.Hour, death))
		synctest.Wait()
		q := refetchedWith(t, fv, ref, 2, time.Now().Add(30*time.Second))
		if q.token != "t2" || len(fv.requests("PUT sys/leases/renew")) != 0 {
			t.Fatalf("fetched with %s after %d renewals", q.token, len(fv.requests("PUT sys/leases/renew")))
		}
		// The new lease is the new token's: renewed as usual.
		sleep(30 * time.Second)
		if q := fv.requests("PUT sys/leases/renew"); len(q) == 0 || q[0].token != "t2" {
			t.Fatalf("renewals %+v", q)
		}
	})
}

// A token Vault rejects: the secret waits for the new login and is
// fetched at once when it comes; the token is reported once.
func TestDeadTokenWaitsForTheNewLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.put("secret/x", map[string]any{"v": "1"})
		r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: time.Minute}})
		defer r.stop(t)
		r.fetch(t, kv("secret/x"))
		fv.kill("t1")
		fv.fault("secret/x", &fault{status: 403})
		sleep(time.Minute)
		if st := r.status(t, kv("secret/x").Key()); st.ErrorClass != "bad_token" {
			t.Fatalf("status %+v", st)
		}
		r.mu.Lock()
		invalid := len(r.invalid)
		r.mu.Unlock()
		if invalid != 1 {
			t.Fatalf("InvalidToken called %d times", invalid)
		}
		fv.fault("secret/x", nil)
		r.SetToken(token("t2", 2, time.Hour, time.Time{}))
		synctest.Wait()
		q := fv.requests("GET secret/x")
		if last := q[len(q)-1]; last.token != "t2" || !last.at.Equal(time.Now()) {
			t.Fatalf("not retried at once with the new token: %+v", last)
		}
		if st := r.status(t, kv("secret/x").Key()); st.LastError != "" {
			t.Fatalf("status %+v", st)
		}
	})
}

// TokenRenewed: Status shows a lease ending with a token that cannot be
// renewed any more.
func TestStatusShowsTheTokenBoundExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 24*time.Hour, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		if st := r.status(t, ref.Key()); st.TokenBound {
			t.Fatalf("a renewable token's lease shown token-bound: %+v", st)
		}
		capped := *r.tok
		capped.Capped, capped.Expires = true, time.Now().Add(10*time.Minute)
		r.TokenRenewed(&capped)
		if st := r.status(t, ref.Key()); !st.TokenBound || !st.Expires.Equal(capped.Expires) {
			t.Fatalf("status %+v, want the capped token's end %v", st, capped.Expires)
		}
	})
}
