package template

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/lease"
)

// pkiVault answers pki/issue/web with a new certificate valid for an
// hour, counting the issue calls.
func pkiVault(t *testing.T, p *testPKI, issued *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/pki/issue/web" || r.Method != http.MethodPut && r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"errors": []string{}})
			return
		}
		issued.Add(1)
		now := time.Now()
		json.NewEncoder(w).Encode(map[string]any{"data": p.issue("a.example.com", now.Add(-30*time.Second), now.Add(time.Hour))})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// renderOnce runs a fresh store and runner (as a restarted rotor has) over
// specs until every template is written once.
func renderOnce(t *testing.T, addr string, threshold float64, specs ...Spec) *lease.Store {
	t.Helper()
	c, err := vaultclient.New(vaultclient.Config{Address: addr}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	r, err := New(specs, nil, Options{Store: store, Once: true, MaxRetries: 1, Policy: lease.Policy{Threshold: threshold}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return store
}

const bundleTpl = `{{ with pkiCert "pki/issue/web" "common_name=a.example.com" }}{{ .Cert }}{{ .CA }}{{ .Key }}{{ end }}`

// A restart does not re-issue a certificate still valid at the
// destination: the file stays as it is, and the scheduler holds that
// certificate, due for renewal at its usual point.
func TestRestartReusesTheCertificateAtTheDestination(t *testing.T) {
	p := newTestPKI(t)
	var issued atomic.Int32
	srv := pkiVault(t, p, &issued)
	dir := t.TempDir()
	dest := filepath.Join(dir, "bundle.pem")
	spec := Spec{Contents: bundleTpl, Destination: dest, Perms: 0o600}

	renderOnce(t, srv.URL, 0.9, spec)
	first, _ := os.ReadFile(dest)
	if issued.Load() != 1 || len(first) == 0 {
		t.Fatalf("first start: %d issue calls, %d bytes", issued.Load(), len(first))
	}
	store := renderOnce(t, srv.URL, 0.9, spec)
	if n := issued.Load(); n != 1 {
		t.Fatalf("the restart issued %d new certificate(s)", n-1)
	}
	if again, _ := os.ReadFile(dest); string(again) != string(first) {
		t.Fatal("the restart rewrote the bundle")
	}
	st := store.Status()
	if len(st) != 1 || st[0].Class != "cert" || st[0].NextAction != "refetch" {
		t.Fatalf("the store holds %+v, want the reused certificate", st)
	}
	_, leaf, _ := pemsFromBytes(first)
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	earliest, latest := leaf.NotBefore.Add(life*8/10), leaf.NotBefore.Add(life*9/10)
	if st[0].NextAt.Before(earliest) || st[0].NextAt.After(latest) {
		t.Fatalf("re-issue at %v, want within [%v, %v] (lease_renewal_threshold 0.9, jitter up to 10%%)", st[0].NextAt, earliest, latest)
	}

	// What is not reused: a certificate past its renewal point, a file
	// without the key, a symlink, a file of another user.
	renderOnce(t, srv.URL, 0.001, spec)
	if issued.Load() != 2 {
		t.Fatal("a certificate past its renewal point was reused")
	}
	certOnly := Spec{Contents: `{{ with pkiCert "pki/issue/web" "common_name=a.example.com" }}{{ .Cert }}{{ end }}`, Destination: filepath.Join(dir, "cert.pem")}
	renderOnce(t, srv.URL, 0.9, certOnly)
	renderOnce(t, srv.URL, 0.9, certOnly)
	if issued.Load() != 4 {
		t.Fatal("a certificate without its key was reused")
	}
	link := filepath.Join(dir, "link.pem")
	if err := os.Symlink(dest, link); err != nil {
		t.Fatal(err)
	}
	renderOnce(t, srv.URL, 0.9, Spec{Contents: bundleTpl, Destination: link})
	if issued.Load() != 5 {
		t.Fatal("a certificate was read through a symlink")
	}
	if os.Geteuid() == 0 {
		planted := filepath.Join(dir, "planted.pem")
		os.WriteFile(planted, first, 0o644)
		os.Chown(planted, 12345, 12345)
		renderOnce(t, srv.URL, 0.9, Spec{Contents: bundleTpl, Destination: planted})
		if issued.Load() != 6 {
			t.Fatal("a file of another user was taken for rotor's certificate")
		}
	}
}

// Two templates naming the same issue call share the reused certificate:
// a cert file and a key file still match after a restart.
func TestReusedCertificateIsShared(t *testing.T) {
	p := newTestPKI(t)
	var issued atomic.Int32
	srv := pkiVault(t, p, &issued)
	dir := t.TempDir()
	specs := []Spec{
		{Contents: bundleTpl, Destination: filepath.Join(dir, "bundle.pem")},
		{Contents: `{{ with secret "pki/issue/web" "common_name=a.example.com" }}{{ .Data.private_key }}{{ end }}`, Destination: filepath.Join(dir, "key.pem")},
	}
	renderOnce(t, srv.URL, 0.9, specs...)
	renderOnce(t, srv.URL, 0.9, specs...)
	if issued.Load() != 1 {
		t.Fatalf("%d issue calls for two starts, want 1", issued.Load())
	}
	bundle, _ := os.ReadFile(specs[0].Destination)
	key, _ := os.ReadFile(specs[1].Destination)
	e, _, _ := pemsFromBytes(bundle)
	if e.Key != string(key)+"\n" {
		t.Fatal("the key file does not hold the reused certificate's key")
	}
}
