package template

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rotorproject/rotor/lease"
)

// A template's own lease_renewal_threshold decides whether the
// certificate at its destination is still reused at a restart, over the
// global one; and the store plans that certificate's re-issue with it.
func TestTemplateRenewalThresholdDecidesCertReuse(t *testing.T) {
	p := newTestPKI(t)
	var issued atomic.Int32
	srv := pkiVault(t, p, &issued)
	dest := filepath.Join(t.TempDir(), "bundle.pem")
	spec := Spec{Contents: bundleTpl, Destination: dest, Perms: 0o600}
	renderOnce(t, srv.URL, 0.9, spec)
	if issued.Load() != 1 {
		t.Fatalf("first start: %d issue calls", issued.Load())
	}
	// The global threshold would reuse it; the template's own does not.
	eager := spec
	eager.Renewal = lease.Policy{Threshold: 0.001}
	renderOnce(t, srv.URL, 0.9, eager)
	if issued.Load() != 2 {
		t.Fatal("a certificate past the template's own renewal point was reused")
	}
	// The global threshold would not reuse it; the template's own does,
	// and the store holds the reused certificate at the template's point.
	lax := spec
	lax.Renewal = lease.Policy{Threshold: 0.9}
	store := renderOnce(t, srv.URL, 0.001, lax)
	if issued.Load() != 2 {
		t.Fatal("the template's own threshold (0.9) should have kept the certificate")
	}
	b, _ := os.ReadFile(dest)
	_, leaf, _ := pemsFromBytes(b)
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	st := store.Status()
	if len(st) != 1 || st[0].NextAt.Before(leaf.NotBefore.Add(life*8/10)) {
		t.Fatalf("the store plans %+v, want the re-issue at the template's threshold (0.9 of %s)", st, life)
	}
}
