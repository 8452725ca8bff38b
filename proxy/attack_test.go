package proxy

import (
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
)

// The proxy played as an attacker on the same host would: two clients
// and rotor's own token, against a real Vault. Each test failed before
// the fix it names.

// doH sends a request with the given headers (a token in
// Authorization: Bearer, a wrap TTL).
func (r *rig) doH(t *testing.T, method, path string, h http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, r.front.URL+path, strings.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func clientToken(t *testing.T, b []byte) string {
	t.Helper()
	var sec api.Secret
	if err := json.Unmarshal(b, &sec); err != nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		t.Fatalf("no token in the answer: %s", b)
	}
	return sec.Auth.ClientToken
}

// A token sent as Authorization: Bearer is the caller's identity, as
// Vault reads it: what that caller creates is never served to a client
// that sends no token.
func TestAttackBearerTokenIsTheCaller(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	body := `{"policies":["app"],"ttl":"30m"}`
	// A child of rotor's token, created through the cache (so managed).
	_, b := r.do(t, "POST", "/v1/auth/token/create", "", body)
	child := clientToken(t, b)
	// The child's holder creates a grandchild, sending its token as Bearer.
	resp, b := r.doH(t, "POST", "/v1/auth/token/create", bearer(child), `{"policies":["app"],"ttl":"20m"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("create with a bearer token: %d %s", resp.StatusCode, b)
	}
	grandchild := clientToken(t, b)
	// A client with no token, same request: never the grandchild.
	resp, b = r.do(t, "POST", "/v1/auth/token/create", "", `{"policies":["app"],"ttl":"20m"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("tokenless create: %d %s", resp.StatusCode, b)
	}
	if got := clientToken(t, b); got == grandchild || resp.Header.Get("X-Cache") == "HIT" {
		t.Fatalf("a client with no token got the bearer client's token (X-Cache %q)", resp.Header.Get("X-Cache"))
	}
	// The bearer client's identical request is its own cache hit.
	resp, b = r.doH(t, "POST", "/v1/auth/token/create", bearer(child), `{"policies":["app"],"ttl":"20m"}`)
	if resp.Header.Get("X-Cache") != "HIT" || clientToken(t, b) != grandchild {
		t.Fatalf("the bearer client's own repeat: X-Cache %q", resp.Header.Get("X-Cache"))
	}
	if err := r.root.Auth().Token().RevokeTree(child); err != nil {
		t.Fatal(err)
	}
	if _, err := r.root.Auth().Token().Lookup(grandchild); err == nil {
		t.Fatal("the grandchild outlived the bearer token: Vault did not make it with that token")
	}
}

// In mode "never", a request with no token at all is nobody's: it is
// never served from the cache, even when an entry was stored with an
// empty token by an older rotor (a restored state file).
func TestAttackEmptyTokenMatchesNothing(t *testing.T) {
	r := newRig(t, TokenNever)
	req := httptest.NewRequest("POST", "/v1/auth/token/create", strings.NewReader(`{}`))
	key := r.cache.key(req, []byte(`{}`), "")
	r.cache.Restore([]Entry{{ID: key, Kind: KindToken, Token: "s.planted", Status: 200, Body: []byte(`{"auth":{"client_token":"s.planted"}}`)}})
	resp, b := r.do(t, "POST", "/v1/auth/token/create", "", `{}`)
	if resp.Header.Get("X-Cache") == "HIT" || strings.Contains(string(b), "s.planted") {
		t.Fatalf("a tokenless request was served a cached answer: %s", b)
	}
}

// A revoke-self sent with Authorization: Bearer evicts only what that
// token owned: before, the eviction matched the empty token and dropped
// every cached lease and orphan token, which rotor then stopped renewing.
func TestAttackRevokeSelfEvictsOnlyItsOwn(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	_, b := r.do(t, "POST", "/v1/auth/token/create", "", `{"policies":["app"],"ttl":"30m"}`)
	c1 := clientToken(t, b)
	r.do(t, "POST", "/v1/auth/token/create", "", `{"policies":["app"],"ttl":"31m"}`)
	r.do(t, "POST", "/v1/auth/token/create", "", `{"policies":["app"],"ttl":"32m","no_parent":true}`)
	before := r.cache.Len()
	if before < 2 {
		t.Fatalf("cache holds %d entries", before)
	}
	// An unrelated client's own token, not created through the proxy.
	other, err := r.root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, b := r.doH(t, "POST", "/v1/auth/token/revoke-self", bearer(other.Auth.ClientToken), ""); resp.StatusCode != 204 {
		t.Fatalf("revoke-self: %d %s", resp.StatusCode, b)
	}
	if r.cache.Len() != before || r.ren.count() != before {
		t.Fatalf("another client's revoke-self evicted entries: cache %d -> %d, renewer %d", before, r.cache.Len(), r.ren.count())
	}
	// The cached child revoking itself evicts itself, nothing else.
	if resp, b := r.doH(t, "POST", "/v1/auth/token/revoke-self", bearer(c1), ""); resp.StatusCode != 204 {
		t.Fatalf("child revoke-self: %d %s", resp.StatusCode, b)
	}
	if r.cache.Len() != before-1 {
		t.Fatalf("child's revoke-self: cache %d -> %d, want one evicted", before, r.cache.Len())
	}
}

func lookupToken(t *testing.T, r *rig, tok string) map[string]any {
	t.Helper()
	sec, err := r.root.Auth().Token().Lookup(tok)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	return sec.Data
}

// rotor's token is used through the proxy, never handed out: not in a
// lookup, not in a response-wrapped answer a client could unwrap.
func TestAttackRotorsTokenNeverLeaves(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	for _, c := range []struct {
		name, method, path, body string
		h                        http.Header
		want                     int
	}{
		{"wrapped lookup-self", "GET", "/v1/auth/token/lookup-self", "", http.Header{"X-Vault-Wrap-Ttl": {"60s"}}, 403},
		{"wrapped renew-self", "PUT", "/v1/auth/token/renew-self", "{}", http.Header{"X-Vault-Wrap-Ttl": {"60s"}}, 403},
		{"wrap format only", "GET", "/v1/auth/token/lookup-self", "", http.Header{"X-Vault-Wrap-Format": {"jwt"}}, 403},
		{"wrapped lookup under a namespace path", "GET", "/v1/ns1/auth/token/lookup-self", "", http.Header{"X-Vault-Wrap-Ttl": {"60s"}}, 403},
		{"lookup without a token", "GET", "/v1/auth/token/lookup", "", nil, 200},
		{"lookup with an empty token", "POST", "/v1/auth/token/lookup", `{"token":""}`, nil, 200},
		{"lookup-self", "GET", "/v1/auth/token/lookup-self", "", nil, 200},
		{"renew-self", "PUT", "/v1/auth/token/renew-self", "{}", nil, 403},
	} {
		resp, b := r.doH(t, c.method, c.path, c.h, c.body)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.want)
		}
		if strings.Contains(string(b), r.token) {
			t.Errorf("%s: the answer holds rotor's token", c.name)
		}
		if strings.Contains(string(b), `"wrap_info":{`) {
			t.Errorf("%s: a wrapping token was handed out: %s", c.name, b)
		}
	}
}

// A single-use response-wrapping token is never replayable from the
// cache: its unwrapped answer (here a renewable token, a cacheable shape)
// is not cached, so a second unwrap gets Vault's refusal.
func TestAttackUnwrapIsNotReplayable(t *testing.T) {
	r := newRig(t, TokenIfMissing)
	resp, b := r.doH(t, "POST", "/v1/auth/token/create", http.Header{"X-Vault-Wrap-Ttl": {"5m"}}, `{"policies":["app"],"ttl":"30m"}`)
	var sec api.Secret
	if json.Unmarshal(b, &sec); resp.StatusCode != 200 || sec.WrapInfo == nil {
		t.Fatalf("wrapped create: %d %s", resp.StatusCode, b)
	}
	body := `{"token":"` + sec.WrapInfo.Token + `"}`
	first, b1 := r.do(t, "POST", "/v1/sys/wrapping/unwrap", "", body)
	if first.StatusCode != 200 {
		t.Fatalf("unwrap: %d %s", first.StatusCode, b1)
	}
	second, b2 := r.do(t, "POST", "/v1/sys/wrapping/unwrap", "", body)
	if second.StatusCode == 200 || second.Header.Get("X-Cache") == "HIT" {
		t.Fatalf("the wrapping token was replayed: %d X-Cache %q %s", second.StatusCode, second.Header.Get("X-Cache"), b2)
	}
}

// No request through the proxy revokes rotor's token: not revoke-self
// with it, not revoke or revoke-accessor naming it (even by a client that
// could), not a prefix revocation of token leases.
func TestAttackCannotRevokeRotor(t *testing.T) {
	var accessor string
	r := newRig(t, TokenIfMissing, func(o *Options) { o.Accessor = func() string { return accessor } })
	accessor = lookupToken(t, r, r.token)["accessor"].(string)
	// The accessor is what Vault gives any holder in lookup-self.
	_, b := r.do(t, "GET", "/v1/auth/token/lookup-self", "", "")
	if !strings.Contains(string(b), accessor) {
		t.Fatalf("lookup-self should show the accessor, as Vault does: %s", b)
	}
	root := r.root.Token()
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Vault-Token": {root}}
	for _, c := range []struct {
		name, method, path, body string
		h                        http.Header
	}{
		{"revoke-self with rotor's token", "POST", "/v1/auth/token/revoke-self", "", nil},
		{"revoke-self under a namespace path", "POST", "/v1/ns1/auth/token/revoke-self", "", nil},
		{"revoke-accessor by a privileged client", "POST", "/v1/auth/token/revoke-accessor", `{"accessor":"` + accessor + `"}`, http.Header{"X-Vault-Token": {root}}},
		{"revoke-accessor with rotor's token", "POST", "/v1/auth/token/revoke-accessor", `{"accessor":"` + accessor + `"}`, nil},
		{"renew-accessor shortening rotor's token", "POST", "/v1/auth/token/renew-accessor", `{"accessor":"` + accessor + `","increment":"1s"}`, bearer(root)},
		{"revoke naming rotor's token", "POST", "/v1/auth/token/revoke", `{"token":"` + r.token + `"}`, bearer(root)},
		{"revoke-orphan naming rotor's token", "POST", "/v1/auth/token/revoke-orphan", `{"token":"` + r.token + `"}`, bearer(root)},
		{"revoke as a form", "POST", "/v1/auth/token/revoke", "token=" + url.QueryEscape(r.token), form},
		{"revoke-prefix of token leases", "POST", "/v1/sys/leases/revoke-prefix/auth/token", "", nil},
		{"revoke-force of everything", "POST", "/v1/sys/leases/revoke-force/", "", bearer(root)},
		{"revoke a token lease by ID", "POST", "/v1/sys/leases/revoke", `{"lease_id":"auth/token/create/x"}`, bearer(root)},
	} {
		resp, b := r.doH(t, c.method, c.path, c.h, c.body)
		if resp.StatusCode != 403 {
			t.Errorf("%s: %d %s, want rotor's refusal", c.name, resp.StatusCode, b)
		}
	}
	if _, err := r.root.Auth().Token().Lookup(r.token); err != nil {
		t.Fatalf("rotor's token was revoked through the proxy: %v", err)
	}
}

// Requests are bounded: a body too big to read streams to Vault uncached;
// token and lease endpoints refuse one; past MaxInFlight, 503.
func TestProxyBoundsRequests(t *testing.T) {
	var mu sync.Mutex
	var got []int
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/slow" {
			<-release
		}
		n, _ := io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, int(n))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":{}}`))
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	p := New(Options{Vault: u, MaxInFlight: 2, MaxBufferedBytes: 1 << 10, Cache: NewCache(&fakeRenewer{}, nil)})
	front := httptest.NewServer(p)
	defer front.Close()
	post := func(path string, n int) int {
		resp, err := http.Post(front.URL+path, "application/json", strings.NewReader(strings.Repeat("x", n)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/v1/secret/data/big", 1<<20); code != 200 {
		t.Fatalf("a 1 MiB write: %d", code)
	}
	mu.Lock()
	if len(got) != 1 || got[0] != 1<<20 {
		t.Fatalf("Vault received %v bytes, want the whole streamed body", got)
	}
	mu.Unlock()
	if code := post("/v1/auth/token/revoke", 2<<10); code != 413 {
		t.Fatalf("an oversized token-endpoint body: %d, want 413", code)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); post("/v1/slow", 10) }()
	}
	// Once both hold their slot, a third is refused.
	deadline := time.Now().Add(10 * time.Second)
	for len(p.inflight) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the slow requests never reached the proxy")
		}
		time.Sleep(time.Millisecond)
	}
	if code := post("/v1/other", 10); code != 503 {
		t.Fatalf("a third request in flight: %d, want 503", code)
	}
	close(release)
	wg.Wait()
}
