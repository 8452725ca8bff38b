package lease

import (
	"testing"
	"testing/synctest"
	"time"
)

// renewalsOf counts the renewals of one lease.
func renewalsOf(fv *memVault, id string) int {
	n := 0
	for _, r := range fv.requests("PUT sys/leases/renew") {
		if r.leaseID == id {
			n++
		}
	}
	return n
}

// rotor rotate on a guarded secret: the old lease is neither revoked nor
// left to expire while held; it is renewed past its TTL, stays out of
// Status, and is revoked only when released.
func TestHeldLeaseIsRenewedAndRevokedOnlyWhenReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		old := r.value(t, ref).LeaseID
		r.Guard([]string{ref.Key()})
		mark := r.HoldMark()
		r.Rotate(nil)
		synctest.Wait()
		if cur := r.value(t, ref).LeaseID; cur == old {
			t.Fatal("not rotated")
		}
		if fv.lease(old).revoked {
			t.Fatal("rotor rotate revoked a held lease")
		}
		held := r.Held()
		if len(held) != 1 || !held[0].Revoke || !held[0].Renewable || held[0].Path != ref.String() {
			t.Fatalf("Held() = %+v", held)
		}
		if len(r.Status()) != 1 {
			t.Fatalf("a held lease must not show as a secret in use: %+v", r.Status())
		}
		// Past two TTLs of the old lease: renewed, still alive.
		sleep(150 * time.Second)
		if n := renewalsOf(fv, old); n < 2 {
			t.Fatalf("held lease renewed %d times in 150s (TTL 60s)", n)
		}
		if l := fv.lease(old); l.revoked || l.lapsed || !time.Now().Before(l.expires) {
			t.Fatalf("held lease not kept alive: %+v", l)
		}
		// A release up to a mark taken before the hold lets nothing go.
		if n := r.Release(ref.Key(), mark); n != 0 {
			t.Fatalf("released %d leases held after the mark", n)
		}
		if n := r.Release(ref.Key(), r.HoldMark()); n != 1 {
			t.Fatalf("released %d", n)
		}
		synctest.Wait()
		if !fv.lease(old).revoked {
			t.Fatal("a lease rotor rotate replaced was not revoked once released")
		}
		if len(r.Held()) != 0 {
			t.Fatalf("still held: %+v", r.Held())
		}
		before := renewalsOf(fv, old)
		sleep(100 * time.Second)
		if renewalsOf(fv, old) != before {
			t.Fatal("a released lease is still renewed")
		}
	})
}

// A lease replaced at its max TTL (no rotor rotate) is held while it
// lives and is never revoked: released, it is only no longer renewed.
// An unguarded secret's replaced lease is not held at all.
func TestHeldLeaseAtMaxTTLIsNotRevoked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 70*time.Second, true)
		fv.role("other", 60*time.Second, 70*time.Second, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref, other := creds("app"), creds("other")
		r.fetch(t, ref, other)
		old := r.value(t, ref).LeaseID
		r.Guard([]string{ref.Key()})
		sleep(66 * time.Second) // renewed at 40s (capped), re-fetched at ~65s
		if r.value(t, ref).LeaseID == old {
			t.Fatal("not re-fetched at the max TTL")
		}
		held := r.Held()
		if len(held) != 1 || held[0].Revoke {
			t.Fatalf("Held() = %+v", held)
		}
		// Guard without the secret releases its holds; a re-fetch that
		// rotor rotate did not ask for revokes nothing.
		r.Guard(nil)
		synctest.Wait()
		if len(r.Held()) != 0 || fv.lease(old).revoked {
			t.Fatalf("held %+v, revoked %v", r.Held(), fv.lease(old).revoked)
		}
	})
}

// A held lease whose renewal hangs (a slow Vault, a database that does
// not answer) is kept and renewed again once Vault answers: its consumer
// may still be using it. Before, the timed-out renewal released it.
func TestHeldLeaseOutlivesAHangingRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 0, true)
		r := startStore(t, fv, Options{})
		defer r.stop(t)
		ref := creds("app")
		r.fetch(t, ref)
		old := r.value(t, ref).LeaseID
		r.Guard([]string{ref.Key()})
		r.Rotate(nil)
		synctest.Wait()
		hang := make(chan struct{})
		fv.fault(old, &fault{hang: hang})
		sleep(50 * time.Second) // the held lease's renewal (at ~40s) hangs and times out
		if len(r.Held()) != 1 {
			t.Fatalf("a held lease whose renewal hung was let go: Held() = %+v", r.Held())
		}
		fv.fault(old, nil)
		close(hang)
		sleep(100 * time.Second)
		if l := fv.lease(old); l.revoked || l.lapsed || !time.Now().Before(l.expires) {
			t.Fatalf("held lease not kept alive after the hang: %+v", l)
		}
		if len(r.Held()) != 1 {
			t.Fatalf("Held() = %+v", r.Held())
		}
	})
}

// revoke_on_shutdown: a lease held because rotor rotate replaced it goes
// with the others when rotor stops, even if its secret is not asked for.
func TestRevokeAtShutdownTakesTheHeldLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 60*time.Second, 0, true)
		r := startStore(t, fv, Options{})
		ref := creds("app")
		r.fetch(t, ref)
		old := r.value(t, ref).LeaseID
		r.Guard([]string{ref.Key()})
		r.Rotate(nil)
		synctest.Wait()
		r.stop(t)
		if _, err := r.Revoke(t.Context(), func(string) bool { return false }); err != nil {
			t.Fatal(err)
		}
		if !fv.lease(old).revoked {
			t.Fatal("the lease rotor rotate replaced outlived rotor")
		}
	})
}
