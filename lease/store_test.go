package lease

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/vaultclient"
)

// fakeVault answers just what the store asks: a dynamic secret and lease
// renewals, whose grants the test sets. It records each request.
type fakeVault struct {
	mu      sync.Mutex
	log     []string
	reads   int
	renewTo int // seconds the next renewal grants
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/sys/internal/ui/mounts/"):
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"path": "database/", "type": "database"}})
	case r.URL.Path == "/v1/database/creds/app":
		f.reads++
		json.NewEncoder(w).Encode(map[string]any{"lease_id": "database/creds/app/" + strings.Repeat("x", f.reads),
			"lease_duration": 60, "renewable": true, "data": map[string]any{"username": "u" + string(rune('0'+f.reads))}})
	case r.URL.Path == "/v1/sys/leases/renew":
		json.NewEncoder(w).Encode(map[string]any{"lease_id": "x", "lease_duration": f.renewTo, "renewable": true})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeVault) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.log {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// The scheduler driven by a fake clock: renew at 2/3 of the TTL, then,
// once renewal is capped by the max TTL, a new secret before the old ends.
func TestStoreRenewsThenRefetchesOnAFakeClock(t *testing.T) {
	fv := &fakeVault{renewTo: 60}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	c, err := vaultclient.New(vaultclient.Config{Address: srv.URL, NumRetries: 0}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fc := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var changed []string
	s := NewStore(Options{Client: c, Clock: fc, Rand: func() float64 { return 0 }, Policy: Policy{Threshold: 0.9, StaticInterval: time.Hour},
		OnChange: func(k []string) { mu.Lock(); changed = append(changed, k...); mu.Unlock() }})
	s.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600, Renewable: true}}, fc.Now()))
	ref := Ref{Kind: KindRead, Path: "database/creds/app"}
	if errs := s.Fetch(t.Context(), []Ref{ref}); len(errs) > 0 {
		t.Fatal(errs)
	}
	go s.Run(t.Context())
	step := func(d time.Duration) {
		// Let Run go to sleep on the fake clock, then move time.
		deadline := time.Now().Add(5 * time.Second)
		for fc.Waiters() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		fc.Advance(d)
		time.Sleep(20 * time.Millisecond)
	}
	// Lease 60s, counted as 59s: renewal due at 2/3 = 39.33s.
	step(39 * time.Second)
	if n := fv.count("PUT /v1/sys/leases/renew"); n != 0 {
		t.Fatalf("renewed after 39s: %d", n)
	}
	fv.mu.Lock()
	fv.renewTo = 10 // the max TTL is near: the grant is short
	fv.mu.Unlock()
	step(time.Second)
	waitCount(t, fv, "PUT /v1/sys/leases/renew", 1)
	if fv.count("GET /v1/database/creds/app") != 1 {
		t.Fatal("a renewal must not fetch a new secret")
	}
	// Capped at 10s (counted 9s): a new secret at 0.9 of that, 8.1s.
	step(8 * time.Second)
	if fv.count("GET /v1/database/creds/app") != 1 {
		t.Fatal("re-fetched too early")
	}
	step(200 * time.Millisecond)
	waitCount(t, fv, "GET /v1/database/creds/app", 2)
	v, _ := s.Lookup(ref.Key())
	if v.Secret.Data["username"] != "u2" {
		t.Fatalf("value not replaced: %v", v.Secret.Data)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changed) != 1 || changed[0] != ref.Key() {
		t.Fatalf("OnChange got %v", changed)
	}
	if st := s.Status(); len(st) != 1 || st[0].LeaseID != "database/creds/app/[redacted]" {
		t.Fatalf("status %+v", st)
	}
}

func waitCount(t *testing.T, fv *fakeVault, prefix string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fv.count(prefix) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %q requests, want %d (log %v)", fv.count(prefix), prefix, n, fv.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
