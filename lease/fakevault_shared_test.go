package lease_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/test/harness/fakevault"
)

// storeRun is a lease store running in a synctest bubble against the
// shared fake Vault (test/harness/fakevault), with a 24h AppRole token.
type storeRun struct {
	*lease.Store
	fv      *fakevault.Vault
	tok     *auth.Token
	mu      sync.Mutex
	changed map[string]int
	cancel  context.CancelFunc
	done    chan struct{}
}

func startFakeStore(t *testing.T, role fakevault.DBRole) *storeRun {
	t.Helper()
	fv := fakevault.New()
	fv.AddAppRole("app", "role-1", "secret-1", 24*time.Hour)
	fv.AddDBRole("app", role)
	c := fv.Client(t)
	sec, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": "role-1", "secret_id": "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	r := &storeRun{fv: fv, tok: auth.NewToken(sec, time.Now()), changed: map[string]int{}, done: make(chan struct{})}
	r.tok.Generation = 1
	r.Store = lease.NewStore(lease.Options{Client: c, Rand: func() float64 { return 0 },
		Policy: lease.Policy{Threshold: 0.9, StaticInterval: 5 * time.Minute}, // Vault Agent's defaults
		OnChange: func(keys []string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, k := range keys {
				r.changed[k]++
			}
		}})
	if err := r.SetToken(r.tok); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.Run(ctx); close(r.done) }()
	return r
}

func (r *storeRun) stop() {
	r.cancel()
	<-r.done
}

func (r *storeRun) changes(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed[key]
}

var dbCreds = lease.Ref{Kind: lease.KindRead, Path: "database/creds/app"}

func (r *storeRun) leaseID(t *testing.T) string {
	t.Helper()
	v, ok := r.Lookup(dbCreds.Key())
	if !ok || v.Secret == nil || v.Secret.LeaseID == "" {
		t.Fatal("database/creds/app is not held with a lease")
	}
	return v.Secret.LeaseID
}

// A renewable 1h lease is renewed with the token that made it, before it
// expires, and its value is kept: no second read, no change reported.
func TestFakeVaultLeaseIsRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startFakeStore(t, fakevault.DBRole{TTL: time.Hour, MaxTTL: 24 * time.Hour, Renewable: true})
		defer r.stop()
		if errs := r.Fetch(context.Background(), []lease.Ref{dbCreds}); len(errs) > 0 {
			t.Fatalf("fetch: %v", errs)
		}
		id := r.leaseID(t)
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		renewals := r.fv.Requests("PUT sys/leases/renew")
		if len(renewals) < 3 {
			t.Fatalf("%d renewals of a 1h lease in 3h, want one per hour at least", len(renewals))
		}
		for _, req := range renewals {
			if req.Body["lease_id"] != id || req.Token != r.tok.Value() {
				t.Fatalf("renewal of %v with another token or lease", req.Body["lease_id"])
			}
		}
		if st := r.fv.Lease(id); st.Revoked || !st.Expires.After(time.Now()) {
			t.Fatalf("lease %s lapsed: %+v", id, st)
		}
		if n := r.fv.Count("GET database/creds/app"); n != 1 || r.changes(dbCreds.Key()) != 0 {
			t.Fatalf("%d reads, %d changes: want the first value kept", n, r.changes(dbCreds.Key()))
		}
	})
}

// A lease whose max TTL is near is not renewed past it: rotor reads new
// credentials before the old ones die, and reports the change.
func TestFakeVaultCappedLeaseIsReread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startFakeStore(t, fakevault.DBRole{TTL: time.Hour, MaxTTL: 90 * time.Minute, Renewable: true})
		defer r.stop()
		if errs := r.Fetch(context.Background(), []lease.Ref{dbCreds}); len(errs) > 0 {
			t.Fatalf("fetch: %v", errs)
		}
		first := r.leaseID(t)
		time.Sleep(89 * time.Minute)
		synctest.Wait()
		if r.fv.Count("GET database/creds/app") < 2 || r.changes(dbCreds.Key()) == 0 {
			t.Fatalf("%d reads, %d changes before the max TTL: want new credentials", r.fv.Count("GET database/creds/app"), r.changes(dbCreds.Key()))
		}
		if now := r.leaseID(t); now == first || r.fv.Lease(now).Revoked {
			t.Fatal("the held lease is still the capped one, or is dead")
		}
	})
}

// A lease revoked behind rotor's back fails its renewal (400 lease not
// found): rotor reads the secret again instead of keeping a dead value.
func TestFakeVaultRevokedLeaseIsReread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startFakeStore(t, fakevault.DBRole{TTL: time.Hour, MaxTTL: 24 * time.Hour, Renewable: true})
		defer r.stop()
		if errs := r.Fetch(context.Background(), []lease.Ref{dbCreds}); len(errs) > 0 {
			t.Fatalf("fetch: %v", errs)
		}
		first := r.leaseID(t)
		root := r.fv.Client(t)
		root.SetToken(fakevault.RootToken)
		if err := root.Sys().Revoke(first); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if r.fv.Count("GET database/creds/app") != 2 || r.changes(dbCreds.Key()) != 1 {
			t.Fatalf("%d reads, %d changes after the revocation, want one new read", r.fv.Count("GET database/creds/app"), r.changes(dbCreds.Key()))
		}
		if now := r.leaseID(t); now == first || r.fv.Lease(now).Revoked {
			t.Fatal("rotor holds the revoked lease")
		}
	})
}
