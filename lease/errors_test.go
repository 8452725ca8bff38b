package lease

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Each class of failure gets its own retry, shows in Status, and never
// stops the other secrets.
func TestFailuresAreRetriedByClass(t *testing.T) {
	cases := []struct {
		name  string
		fault fault
		class string
		retry time.Duration // after the failed re-read
	}{
		{"503 is transient", fault{status: 503}, "vault_unavailable", time.Second},
		{"429 waits for Retry-After", fault{status: 429, retryAfter: "7"}, "rate_limited", 7 * time.Second},
		{"404 is permanent", fault{status: 404}, "secret_not_found", 30 * time.Second},
		{"400 is permanent", fault{status: 400}, "invalid_request", 30 * time.Second},
		{"403 with a live token is permanent", fault{status: 403}, "vault_denied", 30 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fv := newMemVault()
				fv.put("secret/x", map[string]any{"v": "1"})
				fv.role("fast", 8*time.Second, 0, true)
				r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: time.Minute}})
				defer r.stop(t)
				ref := kv("secret/x")
				r.fetch(t, ref, creds("fast"))
				fv.fault("secret/x", &c.fault)
				sleep(time.Minute)
				st := r.status(t, ref.Key())
				if st.ErrorClass != c.class || st.LastError == "" {
					t.Fatalf("status %+v, want class %s", st, c.class)
				}
				if got := time.Until(st.NextAt); got != c.retry {
					t.Fatalf("retry in %v, want %v", got, c.retry)
				}
				if v := r.value(t, ref).Data["v"]; v != "1" {
					t.Fatal("a failed re-read dropped the value templates use")
				}
				r.mu.Lock()
				n := len(r.invalid)
				r.mu.Unlock()
				if n != 0 {
					t.Fatalf("InvalidToken called for a %d", c.fault.status)
				}
				// The other secret kept renewing meanwhile.
				if l := fv.lease(r.value(t, creds("fast")).LeaseID); l.lapsed || !l.expires.After(time.Now()) {
					t.Fatal("the other lease lapsed")
				}
				// Recovery clears the error.
				fv.fault("secret/x", nil)
				sleep(c.retry)
				if st := r.status(t, ref.Key()); st.LastError != "" || st.ErrorClass != "" {
					t.Fatalf("after recovery: %+v", st)
				}
			})
		})
	}
}

// A permanent failure backs off growing to 5 minutes; a transient one to
// a minute, and no later than half the time the secret has left.
func TestBackoffGrowsByClass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.put("secret/x", map[string]any{"v": "1"})
		r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: time.Minute}})
		defer r.stop(t)
		r.fetch(t, kv("secret/x"))
		fv.fault("secret/x", &fault{status: 404})
		sleep(time.Minute) // first failure
		var gaps []time.Duration
		for range 5 {
			before := len(fv.requests("GET secret/x"))
			start := time.Now()
			for len(fv.requests("GET secret/x")) == before {
				sleep(time.Second)
			}
			gaps = append(gaps, time.Since(start))
		}
		want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute}
		for i := range want {
			if gaps[i] != want[i] {
				t.Fatalf("permanent retries %v, want %v", gaps, want)
			}
		}
	})
}

// A renewal that fails transiently is retried as a renewal (no new
// credentials when Vault comes back); one refused for good (the lease is
// gone) is replaced by a new secret at once.
func TestRenewalFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Minute, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		id := r.value(t, ref).LeaseID
		fv.fault(id, &fault{status: 503})
		sleep(40 * time.Second) // renewal at 39.33s fails
		fv.fault(id, nil)
		sleep(time.Second)
		if n := len(fv.requests("PUT sys/leases/renew")); n != 2 {
			t.Fatalf("%d renewals, want a retry 1s after the 503", n)
		}
		if n := len(fv.requests("GET database/creds/app")); n != 1 {
			t.Fatal("a transient renewal failure issued new credentials")
		}
		fv.fault(id, &fault{status: 400})
		sleep(40 * time.Second)
		if n := len(fv.requests("GET database/creds/app")); n != 2 {
			t.Fatalf("%d fetches: a lease Vault no longer renews must be replaced at once", n)
		}
	})
}

// Once Vault answers again, the secrets still waiting out a backoff of up
// to a minute are retried within recoverySpread of the first success, at
// spread-out times, instead of each at the end of its own backoff. The
// first success is counted among the secrets that failed: one whose turn
// never came during the fault says nothing about the recovery.
func TestRetriesComeSoonOnceVaultIsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		var refs []Ref
		for _, p := range []string{"secret/a", "secret/b", "secret/c", "secret/d", "secret/e", "secret/f"} {
			fv.put(p, map[string]any{"v": "1"})
			refs = append(refs, kv(p))
		}
		// Different draws give each secret its own backoff schedule.
		var mu sync.Mutex
		draws, n := []float64{0.05, 0.35, 0.65, 0.95, 0.5, 0.2, 0.8}, 0
		rnd := func() float64 {
			mu.Lock()
			defer mu.Unlock()
			n++
			return draws[n%len(draws)]
		}
		r := startStore(t, fv, Options{Rand: rnd, Policy: Policy{Threshold: 0.9, StaticInterval: 30 * time.Second}})
		defer r.stop(t)
		r.fetch(t, refs...)
		fv.fault("secret/", &fault{status: 503})
		sleep(4 * time.Minute) // every backoff has grown to about a minute
		// A secret whose turn never came during the fault has not failed;
		// the ones that failed are what must come back soon.
		ok := func(ref Ref) bool { return r.status(t, ref.Key()).LastError == "" }
		var failing []Ref
		for _, ref := range refs {
			if !ok(ref) {
				failing = append(failing, ref)
			}
		}
		if len(failing) == 0 {
			t.Fatal("no secret failed during the 4-minute fault")
		}
		fv.fault("secret/", nil)
		back := time.Now()
		var first time.Time
		for first.IsZero() {
			sleep(100 * time.Millisecond)
			for _, ref := range failing {
				if ok(ref) {
					first = time.Now()
				}
			}
			if time.Since(back) > 2*time.Minute {
				t.Fatal("no secret was read again within 2 minutes of Vault answering")
			}
		}
		sleep(recoverySpread + 100*time.Millisecond)
		for _, ref := range failing {
			if !ok(ref) {
				t.Errorf("%s still failing %v after the first success (%v after Vault answered again): %+v",
					ref.Path, time.Since(first), time.Since(back), r.status(t, ref.Key()))
			}
		}
	})
}
