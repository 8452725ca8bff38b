package lease

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The scenario measured against Vault Agent on a real Vault: one lease's
// renewal hangs (its database does not answer), another lease has an 8s
// TTL. The short lease must be renewed on time, every time, for the whole
// minute; the hanging renewal is abandoned before its lease ends and
// replaced by a new secret.
func TestHangingRenewalDoesNotDelayAnotherLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("slow", 30*time.Second, 0, true)
		fv.role("fast", 8*time.Second, 0, true)
		fv.fault("database/creds/slow/", &fault{hang: make(chan struct{})}) // renewals of slow leases hang
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		r.fetch(t, creds("slow"), creds("fast"))
		fast := r.value(t, creds("fast")).LeaseID
		sleep(time.Minute)

		l := fv.lease(fast)
		if l.lapsed || !l.expires.After(time.Now()) {
			t.Fatalf("the 8s lease lapsed (expires %v, now %v): a hanging renewal delayed it", l.expires, time.Now())
		}
		// Every renewal came at its own time: 2/3 of the TTL (counted as
		// 7s) after the previous one, never later.
		var fastRenewals []time.Time
		for _, q := range fv.requests("PUT sys/leases/renew") {
			if q.leaseID == fast {
				fastRenewals = append(fastRenewals, q.at)
			}
		}
		if len(fastRenewals) < 12 {
			t.Fatalf("%d renewals of the 8s lease in a minute, want one every 4.67s", len(fastRenewals))
		}
		for i := 1; i < len(fastRenewals); i++ {
			if gap := fastRenewals[i].Sub(fastRenewals[i-1]); gap > 7*time.Second*2/3+time.Millisecond {
				t.Fatalf("renewal %d came %v after the previous one: delayed by another lease", i, gap)
			}
		}
		// Each slow lease's renewal was abandoned, and a new secret was
		// fetched before that lease ended.
		var abandoned int
		for _, q := range fv.requests("PUT sys/leases/renew") {
			if !strings.HasPrefix(q.leaseID, "database/creds/slow/") {
				continue
			}
			if !q.cancelled {
				t.Fatalf("a hanging renewal was not abandoned: %+v", q)
			}
			abandoned++
			replaced := false
			for _, f := range fv.requests("GET database/creds/slow") {
				if f.at.After(q.at) && f.at.Before(fv.lease(q.leaseID).expires) {
					replaced = true
				}
			}
			if !replaced {
				t.Fatalf("lease %s was not replaced before it ended", q.leaseID)
			}
		}
		if abandoned < 2 {
			t.Fatalf("%d slow renewals, want 2 in a minute", abandoned)
		}
		if n := len(r.changesOf(creds("slow").Key())); n != abandoned {
			t.Fatalf("OnChange for the slow secret %d times, want %d", n, abandoned)
		}
	})
}

// More actions due than workers: the earliest deadlines go first.
func TestEarliestDeadlineGoesFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Hour, 0, true)
		r := startStore(t, fv, Options{MaxParallel: 1}) // one request at a time
		defer r.stop(t)
		now := time.Now()
		var states []SecretState
		var want []string
		for _, left := range []time.Duration{5, 1, 3, 2, 4} {
			id := fv.issue("app", "t1", now.Add(-50*time.Minute))
			states = append(states, restored(id, now.Add(-50*time.Minute), now.Add(left*time.Minute)))
		}
		for _, i := range []int{1, 3, 2, 4, 0} {
			want = append(want, states[i].LeaseID)
		}
		r.Restore(states, 1) // every renewable lease is renewed at once
		synctest.Wait()
		var got []string
		for _, q := range fv.requests("PUT sys/leases/renew") {
			got = append(got, q.leaseID)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("renewed in order %v, want earliest deadline first %v", got, want)
		}
	})
}

// restored is a renewable database lease as the state file keeps it.
func restored(leaseID string, issued, expires time.Time) SecretState {
	return SecretState{
		Ref:     Ref{Kind: KindRead, Path: leaseID}, // one ref per lease
		Secret:  &Secret{LeaseID: leaseID, LeaseDuration: 3600, Renewable: true, Data: map[string]any{"username": leaseID}},
		Timing:  Timing{Class: ClassLease, Issued: issued, Expires: expires, Renewable: true},
		LeaseID: leaseID, LeaseTTL: time.Hour,
	}
}

// A changed secret reaches OnChange as soon as it is read, however long
// another secret due at the same time takes.
func TestOnChangeIsPromptWhileAnotherFetchHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.put("secret/a", map[string]any{"v": "1"})
		fv.put("secret/b", map[string]any{"v": "1"})
		r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: 10 * time.Second}})
		defer r.stop(t)
		r.fetch(t, kv("secret/a"), kv("secret/b"))
		start := time.Now()
		fv.put("secret/b", map[string]any{"v": "2"})
		fv.fault("secret/a", &fault{hang: make(chan struct{})})
		sleep(10 * time.Second)
		if got := r.changesOf(kv("secret/b").Key()); len(got) != 1 || got[0].Sub(start) != 10*time.Second {
			t.Fatalf("OnChange of b at %v, want once at +10s", got)
		}
		if q := fv.requests("GET secret/a"); len(q) != 2 || q[1].cancelled {
			t.Fatalf("a's re-read should still be in flight: %+v", q)
		}
		if v := r.value(t, kv("secret/b")).Data["v"]; v != "2" {
			t.Fatalf("b = %v", v)
		}
	})
}

// Renewals hang on every worker: a template's first fetch (and its mount
// lookup) still finds a slot at once.
func TestTemplateFetchIsNotStarvedByHangingRenewals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Hour, 0, true)
		fv.put("secret/x", map[string]any{"v": "1"})
		fv.fault("database/creds/app/", &fault{hang: make(chan struct{})})
		r := startStore(t, fv, Options{MaxParallel: 10})
		defer r.stop(t)
		now := time.Now()
		var states []SecretState
		for range 12 {
			id := fv.issue("app", "t1", now.Add(-40*time.Minute))
			states = append(states, restored(id, now.Add(-40*time.Minute), now.Add(20*time.Minute)))
		}
		r.Restore(states, 1)
		synctest.Wait()
		if n := len(fv.requests("PUT sys/leases/renew")); n != 8 {
			t.Fatalf("%d renewals in flight, want 8: max_connections_per_host 10, less one for auth and one for templates", n)
		}
		start := time.Now()
		r.fetch(t, kv("secret/x"))
		if d := time.Since(start); d != 0 {
			t.Fatalf("the template's fetch waited %v behind hanging renewals", d)
		}
		if len(fv.requests("GET sys/internal/ui/mounts/secret/x")) != 1 {
			t.Fatal("no mount lookup")
		}
	})
}

// The timing rule, end to end: renew at 2/3 of the TTL; once the max TTL
// caps renewal, a new secret at lease_renewal_threshold of what is left.
func TestRenewsThenRefetchesAtTheMaxTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 70*time.Second, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		start := time.Now()
		first := r.value(t, ref)
		// Lease 60s, counted as 59s: renewal at 39.33s, granted the 30s
		// left before the max TTL (counted 29s): capped, so a new
		// secret at 0.9 of that, 26.1s later, at 65.43s.
		sleep(39 * time.Second)
		if n := len(fv.requests("PUT sys/leases/renew")); n != 0 {
			t.Fatalf("renewed after 39s: %d", n)
		}
		sleep(time.Second)
		if n := len(fv.requests("PUT sys/leases/renew")); n != 1 {
			t.Fatalf("%d renewals at 40s", n)
		}
		if r.value(t, ref).LeaseDuration != 30 || first.LeaseDuration != 60 {
			t.Fatal("a renewal must show its grant in a new value, not change the one templates hold")
		}
		sleep(25 * time.Second)
		if len(fv.requests("GET database/creds/app")) != 1 {
			t.Fatal("re-fetched too early")
		}
		sleep(time.Second)
		if n := len(fv.requests("GET database/creds/app")); n != 2 {
			t.Fatalf("%d fetches after %v", n, time.Since(start))
		}
		if v := r.value(t, ref).Data["username"]; v != "u2" {
			t.Fatalf("value not replaced: %v", v)
		}
		if got := r.changesOf(ref.Key()); len(got) != 1 {
			t.Fatalf("OnChange got %v", got)
		}
		if st := r.status(t, ref.Key()); st.LeaseID != "database/creds/app/[redacted]" || st.NextAction != "renew" {
			t.Fatalf("status %+v", st)
		}
	})
}

// Rotate while the secret's renewal is in flight: the rotation is not lost
// when the renewal comes back; the old lease is revoked once replaced.
func TestRotateWhileRenewalInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		old := r.value(t, ref).LeaseID
		release := make(chan struct{})
		fv.fault("database/creds/app/", &fault{hang: release})
		sleep(40 * time.Second) // the renewal is in flight
		if n := len(fv.requests("PUT sys/leases/renew")); n != 1 {
			t.Fatalf("%d renewals", n)
		}
		if n := r.Rotate(nil); n != 1 {
			t.Fatalf("Rotate scheduled %d", n)
		}
		synctest.Wait()
		if n := len(fv.requests("GET database/creds/app")); n != 1 {
			t.Fatal("fetched while the renewal was in flight")
		}
		fv.fault("database/creds/app/", nil)
		close(release)
		synctest.Wait()
		if n := len(fv.requests("GET database/creds/app")); n != 2 {
			t.Fatalf("%d fetches: the rotation was lost", n)
		}
		if !fv.lease(old).revoked {
			t.Fatal("the replaced lease was not revoked")
		}
		if got := r.changesOf(ref.Key()); len(got) != 1 {
			t.Fatalf("OnChange got %v", got)
		}
	})
}

// A reload's new settings (SetPolicy) apply at once to secrets that are
// waiting, even while another secret's renewal hangs.
func TestSetPolicyWhileRenewalInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 0, true)
		fv.put("secret/x", map[string]any{"v": "1"})
		r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: time.Hour}})
		defer r.stop(t)
		r.fetch(t, creds("app"), kv("secret/x"))
		fv.fault("database/creds/app/", &fault{hang: make(chan struct{})})
		sleep(40 * time.Second) // the renewal hangs
		r.SetPolicy(Policy{Threshold: 0.9, StaticInterval: 10 * time.Second})
		synctest.Wait()
		// Read at +40s: due at once under the new 10s interval.
		if n := len(fv.requests("GET secret/x")); n != 2 {
			t.Fatalf("%d reads of the KV secret, want it re-read under the new interval", n)
		}
		sleep(10 * time.Second)
		if n := len(fv.requests("GET secret/x")); n != 3 {
			t.Fatalf("%d reads: the new interval is not in force", n)
		}
	})
}

// Run returns only once every worker has ended, even with requests hung.
func TestRunWaitsForItsWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", time.Hour, 0, true)
		fv.fault("database/creds/app/", &fault{hang: make(chan struct{})})
		r := startStore(t, fv, Options{})
		r.fetch(t, creds("app"))
		sleep(40 * time.Minute)
		if q := fv.requests("PUT sys/leases/renew"); len(q) != 1 || q[0].cancelled {
			t.Fatalf("renewal not in flight: %+v", q)
		}
		r.stop(t)
		if q := fv.requests("PUT sys/leases/renew"); !q[0].cancelled {
			t.Fatal("Run returned with its worker still running")
		}
		if errs := r.Fetch(context.Background(), []Ref{kv("secret/none")}); len(errs) != 1 {
			t.Fatal("a fetch of a missing secret succeeded")
		}
	})
}

// A KV secret read for the first time is read again at a random point of
// its first interval, then every interval: the first draw sets its phase,
// so agents deployed together do not re-read in step.
func TestFirstRereadSetsThePhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.put("secret/a", map[string]any{"v": "1"})
		draws := []float64{0, 0.5} // Next's plan, then the first re-read; 0 after that
		rnd := func() float64 {
			if len(draws) == 0 {
				return 0
			}
			d := draws[0]
			draws = draws[1:]
			return d
		}
		r := startStore(t, fv, Options{Rand: rnd, Policy: Policy{Threshold: 0.9, StaticInterval: 30 * time.Second}})
		defer r.stop(t)
		start := time.Now()
		r.fetch(t, kv("secret/a"))
		sleep(80 * time.Second)
		var at []time.Duration
		for _, q := range fv.requests("GET secret/a") {
			at = append(at, q.at.Sub(start))
		}
		want := []time.Duration{0, 16500 * time.Millisecond, 46500 * time.Millisecond, 76500 * time.Millisecond}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Fatalf("reads at %v, want %v", at, want)
		}
	})
}
