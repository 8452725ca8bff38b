package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// fakeRenewer records what the cache asks to keep alive.
type fakeRenewer struct {
	mu      sync.Mutex
	tracked map[string]Tracked
	untrack []string
}

func (f *fakeRenewer) Track(t Tracked) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tracked == nil {
		f.tracked = map[string]Tracked{}
	}
	f.tracked[t.ID] = t
}

func (f *fakeRenewer) Untrack(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tracked, id)
	f.untrack = append(f.untrack, id)
}

func (f *fakeRenewer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tracked)
}

// rig is a real Vault, rotor's token on it, and a proxy in front.
type rig struct {
	srv   *vaulttest.Server
	root  *api.Client
	token string // rotor's auto-auth token
	ren   *fakeRenewer
	cache *Cache
	front *httptest.Server
}

func newRig(t *testing.T, mode TokenMode, opts ...func(*Options)) *rig {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }
path "auth/token/revoke" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "auth/token/lookup" { capabilities = ["read", "update"] }
path "sys/leases/revoke-prefix/*" { capabilities = ["update", "sudo"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }`)
	sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "kv-value"}); err != nil {
		t.Fatal(err)
	}
	r := &rig{srv: srv, root: root, token: sec.Auth.ClientToken, ren: &fakeRenewer{}}
	r.cache = NewCache(r.ren, nil)
	r.cache.Manage(r.token)
	u, _ := url.Parse(srv.Addr)
	o := Options{Vault: u, Token: func() string { return r.token }, Mode: mode, Cache: r.cache}
	for _, f := range opts {
		f(&o)
	}
	p := New(o)
	r.front = httptest.NewServer(p)
	t.Cleanup(r.front.Close)
	return r
}

func (r *rig) do(t *testing.T, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, r.front.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestProxyAddsTheTokenAndPassesVaultsAnswers(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	resp, b := r.do(t, "GET", "/v1/secret/data/app", "", "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), "kv-value") {
		t.Fatalf("KV read without a token: %d %s", resp.StatusCode, b)
	}
	if resp.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("X-Cache %q: KV (no lease) is never cached", resp.Header.Get("X-Cache"))
	}
	// A client's own token is used as is: Vault's 403 and its error body
	// come back unchanged.
	resp, b = r.do(t, "GET", "/v1/secret/data/app", "not-a-token", "")
	if resp.StatusCode != 403 || !strings.Contains(string(b), "permission denied") {
		t.Fatalf("bad client token: %d %s", resp.StatusCode, b)
	}
	// A lookup-self with rotor's token shows its TTL, never the token.
	resp, b = r.do(t, "GET", "/v1/auth/token/lookup-self", "", "")
	if resp.StatusCode != 200 || strings.Contains(string(b), r.token) || !strings.Contains(string(b), `"ttl"`) {
		t.Fatalf("lookup-self: %d, token shown: %v", resp.StatusCode, strings.Contains(string(b), r.token))
	}
}

// A renew-self made with rotor's token is refused (a small increment
// would shorten rotor's token); one made with a client's own token goes
// to Vault every time, never cached.
func TestProxyRenewSelf(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	if resp, b := r.do(t, "PUT", "/v1/auth/token/renew-self", "", `{"increment":"1s"}`); resp.StatusCode != 403 || strings.Contains(string(b), r.token) {
		t.Fatalf("renew-self with rotor's token: %d %s", resp.StatusCode, b)
	}
	if ttl, _ := lookupToken(t, r, r.token)["ttl"].(json.Number).Int64(); ttl < 3000 {
		t.Fatalf("rotor's token TTL is %ds after a refused renewal", ttl)
	}
	own, err := r.root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		resp, b := r.do(t, "PUT", "/v1/auth/token/renew-self", own.Auth.ClientToken, `{"increment":"1h"}`)
		if resp.StatusCode != 200 || resp.Header.Get("X-Cache") == "HIT" {
			t.Fatalf("renew-self %d: %d, X-Cache %q %s", i+1, resp.StatusCode, resp.Header.Get("X-Cache"), b)
		}
	}
	if r.cache.Len() != 0 || r.ren.count() != 0 {
		t.Fatalf("after renew-self: cache %d entries, renewer %d", r.cache.Len(), r.ren.count())
	}
}

func TestProxyForceUsesRotorsToken(t *testing.T) {
	r := newRig(t, TokenForce)
	if resp, b := r.do(t, "GET", "/v1/secret/data/app", "some-client-token", ""); resp.StatusCode != 200 {
		t.Fatalf("force mode: %d %s", resp.StatusCode, b)
	}
	r2 := newRig(t, TokenNever)
	if resp, _ := r2.do(t, "GET", "/v1/secret/data/app", "", ""); resp.StatusCode != 403 {
		t.Fatalf("mode never, no token: %d, want Vault's 403", resp.StatusCode)
	}
}

// A token created through the proxy is cached: the identical request
// gets the same token; revoking it through the proxy evicts it and what
// was created with it.
func TestProxyCachesCreatedTokensAndEvictsOnRevoke(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	body := `{"policies":["app"],"ttl":"30m"}`
	resp1, b1 := r.do(t, "POST", "/v1/auth/token/create", "", body)
	resp2, b2 := r.do(t, "POST", "/v1/auth/token/create", "", body)
	if resp1.StatusCode != 200 || resp2.StatusCode != 200 {
		t.Fatalf("create: %d %d", resp1.StatusCode, resp2.StatusCode)
	}
	if resp1.Header.Get("X-Cache") != "MISS" || resp2.Header.Get("X-Cache") != "HIT" || !bytes.Equal(b1, b2) {
		t.Fatalf("second identical create not served from the cache: %q %q", resp1.Header.Get("X-Cache"), resp2.Header.Get("X-Cache"))
	}
	var sec api.Secret
	json.Unmarshal(b1, &sec)
	child := sec.Auth.ClientToken
	if r.ren.count() != 1 {
		t.Fatalf("renewer tracks %d entries, want 1", r.ren.count())
	}
	// A grandchild created with the cached child token is cached too.
	resp3, _ := r.do(t, "POST", "/v1/auth/token/create", child, body)
	if resp3.StatusCode != 200 || r.cache.Len() != 2 {
		t.Fatalf("grandchild: %d, cache holds %d", resp3.StatusCode, r.cache.Len())
	}
	// Revoking the child through the proxy evicts it and the grandchild.
	if resp, b := r.do(t, "POST", "/v1/auth/token/revoke", "", `{"token":"`+child+`"}`); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, b)
	}
	if r.cache.Len() != 0 || r.ren.count() != 0 {
		t.Fatalf("after revoke: cache %d entries, renewer %d", r.cache.Len(), r.ren.count())
	}
	resp4, _ := r.do(t, "POST", "/v1/auth/token/create", "", body)
	if resp4.Header.Get("X-Cache") != "MISS" {
		t.Fatal("a revoked token was served from the cache")
	}
}

// Identical requests arriving together go to Vault once.
func TestProxyInflightRequestsShareOneAnswer(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	body := `{"policies":["app"],"ttl":"30m"}`
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, b := r.do(t, "POST", "/v1/auth/token/create", "", body)
			var sec api.Secret
			json.Unmarshal(b, &sec)
			if sec.Auth != nil {
				tokens[i] = sec.Auth.ClientToken
			}
		}()
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("concurrent identical requests got different tokens: %q", tokens)
		}
	}
}

func TestCacheClear(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	for _, ttl := range []string{"30m", "31m", "32m"} {
		r.do(t, "POST", "/v1/auth/token/create", "", `{"policies":["app"],"ttl":"`+ttl+`"}`)
	}
	if r.cache.Len() != 3 {
		t.Fatalf("cache holds %d", r.cache.Len())
	}
	clear := httptest.NewServer(r.cache.ClearHandler())
	defer clear.Close()
	post := func(body string) int {
		resp, err := http.Post(clear.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"type":"request_path","value":"/v1/auth/token/create"}`); code != 200 || r.cache.Len() != 0 {
		t.Fatalf("request_path clear: %d, %d left", code, r.cache.Len())
	}
	if code := post(`{"type":"bogus"}`); code != 400 {
		t.Fatalf("bad type: %d", code)
	}
}

// Entries survive a restart through Snapshot and Restore, and restored
// ones are renewed at once (to prove they still exist).
func TestCacheSnapshotRestore(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	r.do(t, "POST", "/v1/auth/token/create", "", `{"policies":["app"],"ttl":"30m"}`)
	snap := r.cache.Snapshot()
	ren := &fakeRenewer{}
	c2 := NewCache(ren, nil)
	if n := c2.Restore(snap); n != 1 || c2.Len() != 1 {
		t.Fatalf("restored %d", n)
	}
	for _, tr := range ren.tracked {
		if !tr.Issued.IsZero() {
			t.Fatal("a restored entry must be renewed at once (zero Issued)")
		}
	}
	_ = time.Now
}

// A 403 to rotor's own token is a hint, passed on at most once per
// HintInterval (the agent confirms it with a lookup of its token before it
// logs in again); a client's own bad token is never one.
func TestProxyHintsRotorsRejectedToken(t *testing.T) {
	var hints []string
	var mu sync.Mutex
	r := newRig(t, TokenIfMissing, func(o *Options) {
		o.HintInterval = time.Hour
		o.Rejected = func(_ context.Context, tok string) { mu.Lock(); hints = append(hints, tok); mu.Unlock() }
	})
	if resp, _ := r.do(t, "GET", "/v1/secret/data/app", "not-a-token", ""); resp.StatusCode != 403 {
		t.Fatalf("a client's bad token: %d", resp.StatusCode)
	}
	mu.Lock()
	if len(hints) != 0 {
		t.Fatalf("a client's own bad token was taken for a hint about rotor's: %d", len(hints))
	}
	mu.Unlock()
	// A storm of requests Vault refuses with rotor's token ({"token": null}
	// to auth/token/renew is "invalid token", before any policy check).
	for range 20 {
		if resp, b := r.do(t, "PUT", "/v1/auth/token/renew", "", `{"token": null}`); resp.StatusCode != 403 {
			t.Fatalf("null renew: %d %s", resp.StatusCode, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hints) != 1 || hints[0] != r.token {
		t.Fatalf("20 refusals gave %d hints, want 1 (rate-limited), about rotor's token", len(hints))
	}
}
