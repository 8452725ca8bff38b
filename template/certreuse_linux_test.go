package template

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rotorproject/rotor/lease"
)

// Certificate reuse reads the destination once while it stays the same,
// however often the issue call fails and the render asks again, and reads
// it again once it changes.
func TestCertReuseReadsTheDestinationOnce(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "bundle.pem")
	bundle := func(nb, na time.Time) []byte {
		d := p.issue("a.example.com", nb, na)
		return []byte(d["certificate"].(string) + "\n" + d["issuing_ca"].(string) + "\n" + d["private_key"].(string) + "\n")
	}
	// Past its renewal point: a pair, but not to be reused.
	if err := os.WriteFile(dest, bundle(time.Now().Add(-time.Hour), time.Now().Add(time.Minute)), 0o600); err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{})
	r, err := New([]Spec{{Contents: bundleTpl, Destination: dest, Perms: 0o600}}, nil, Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	tm := r.tmpls[0]
	if len(tm.pkiRefs) != 1 {
		t.Fatalf("pkiRefs %v", tm.pkiRefs)
	}
	ref := tm.pkiRefs[0]

	o := watchOpens(t, dest)
	for range 5 { // the issue call failing, the render retried
		r.reuseCert(tm, ref)
	}
	if _, ok := store.Lookup(ref.Key()); ok {
		t.Fatal("a certificate past its renewal point was reused")
	}
	if n := o.count(t); n != 1 {
		t.Fatalf("5 reuse checks opened the destination %d times, want once", n)
	}

	// Replaced by a fresh certificate: read again, and reused.
	tmp := dest + ".new"
	if err := os.WriteFile(tmp, bundle(time.Now().Add(-time.Minute), time.Now().Add(time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		t.Fatal(err)
	}
	o.count(t) // the test's own write
	r.reuseCert(tm, ref)
	r.reuseCert(tm, ref)
	if _, ok := store.Lookup(ref.Key()); !ok {
		t.Fatal("the fresh certificate put in place was not reused")
	}
	if n := o.count(t); n != 1 {
		t.Fatalf("the changed destination was opened %d times, want once", n)
	}
}
