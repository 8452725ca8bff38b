package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorproject/rotor/proxy"
	"github.com/rotorproject/rotor/test/harness/fakevault"
)

// These tests run the proxy against the in-memory fake Vault: no Vault
// binary, no network. proxy_test.go's tests against a real Vault stay for
// integration.

// trackRecorder is a proxy.Renewer that records what the cache tracks.
type trackRecorder struct {
	mu      sync.Mutex
	tracked []proxy.Tracked
}

func (r *trackRecorder) Track(t proxy.Tracked) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tracked = append(r.tracked, t)
}

func (r *trackRecorder) Untrack(string) {}

func (r *trackRecorder) all() []proxy.Tracked {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]proxy.Tracked(nil), r.tracked...)
}

// fakeRig is a proxy in front of a fake Vault, with rotor's own token.
type fakeRig struct {
	fv    *fakevault.Vault
	token string // rotor's auto-auth token
	ren   *trackRecorder
	cache *proxy.Cache
	p     *proxy.Proxy
}

func newFakeRig(t *testing.T, mode proxy.TokenMode) *fakeRig {
	t.Helper()
	fv := fakevault.New()
	fv.PutKV("app", map[string]any{"v": "kv-value"})
	fv.AddDBRole("app", fakevault.DBRole{TTL: time.Hour, Renewable: true})
	r := &fakeRig{fv: fv, token: fv.CreateToken(fakevault.TokenOptions{TTL: time.Hour, Renewable: true}), ren: &trackRecorder{}}
	r.cache = proxy.NewCache(r.ren, nil)
	r.cache.Manage(r.token)
	u, _ := url.Parse("http://vault.test")
	r.p = proxy.New(proxy.Options{Vault: u, Transport: fv, Token: func() string { return r.token }, Mode: mode, Cache: r.cache})
	return r
}

// do sends one request through the proxy, as a client on the listener would.
func (r *fakeRig) do(t *testing.T, method, path, token string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:8100"+path, nil)
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	w := httptest.NewRecorder()
	r.p.ServeHTTP(w, req)
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The token Vault sees: rotor's for a request without one (or always, in
// force mode), the client's own otherwise, and none in mode never.
func TestFakeVaultTokenInjection(t *testing.T) {
	client := "client-token"
	for _, c := range []struct {
		mode        proxy.TokenMode
		sent, vault string // "" is no token; "rotor" is rotor's
	}{
		{proxy.TokenIfMissing, "", "rotor"},
		{proxy.TokenIfMissing, client, client},
		{proxy.TokenForce, client, "rotor"},
		{proxy.TokenNever, "", ""},
	} {
		r := newFakeRig(t, c.mode)
		r.do(t, "GET", "/v1/secret/data/app", c.sent)
		want := c.vault
		if want == "rotor" {
			want = r.token
		}
		reqs := r.fv.Requests("GET secret/data/app")
		if len(reqs) != 1 || reqs[0].Token != want {
			t.Errorf("mode %d, client sent %q: Vault saw %+v, want token %q", c.mode, c.sent, reqs, c.vault)
		}
	}
}

// A leased, renewable answer read with rotor's token is cached: the second
// identical read is a hit that Vault never sees, and the lease is handed
// to the renewer with the token that owns it.
func TestFakeVaultCachesLeasedRead(t *testing.T) {
	r := newFakeRig(t, proxy.TokenIfMissing)
	resp1, b1 := r.do(t, "GET", "/v1/database/creds/app", "")
	resp2, b2 := r.do(t, "GET", "/v1/database/creds/app", "")
	if resp1.StatusCode != 200 || resp2.StatusCode != 200 {
		t.Fatalf("reads: %d %d", resp1.StatusCode, resp2.StatusCode)
	}
	if resp1.Header.Get("X-Cache") != "MISS" || resp2.Header.Get("X-Cache") != "HIT" || b1 != b2 {
		t.Fatalf("X-Cache %q then %q, same body %v: want the second read from the cache",
			resp1.Header.Get("X-Cache"), resp2.Header.Get("X-Cache"), b1 == b2)
	}
	if n := r.fv.Count("GET database/creds/app"); n != 1 {
		t.Fatalf("Vault saw %d reads, want 1", n)
	}
	tracked := r.ren.all()
	if len(tracked) != 1 || !strings.HasPrefix(tracked[0].LeaseID, "database/creds/app/") || tracked[0].Token != r.token {
		t.Fatalf("renewer got %+v, want the lease with rotor's token", tracked)
	}
	if strings.Contains(b1, r.token) {
		t.Fatal("the answer shows rotor's token")
	}
}

// An answer without a lease (KV) is never cached: each read goes to Vault.
func TestFakeVaultDoesNotCacheUnleased(t *testing.T) {
	r := newFakeRig(t, proxy.TokenIfMissing)
	for i := range 2 {
		resp, b := r.do(t, "GET", "/v1/secret/data/app", "")
		if resp.StatusCode != 200 || !strings.Contains(b, "kv-value") || resp.Header.Get("X-Cache") != "MISS" {
			t.Fatalf("read %d: %d, X-Cache %q", i+1, resp.StatusCode, resp.Header.Get("X-Cache"))
		}
	}
	if n := r.fv.Count("GET secret/data/app"); n != 2 || r.cache.Len() != 0 || len(r.ren.all()) != 0 {
		t.Fatalf("Vault saw %d reads, cache holds %d, renewer %d: want 2, 0, 0", n, r.cache.Len(), len(r.ren.all()))
	}
}
