package faultproxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// backend is a fake Vault that answers every request with
// {"data": {"backend": name, "path": ..., "body": ...}} and counts them.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"backend": name, "path": r.URL.Path, "body": string(body)}})
	}))
	t.Cleanup(b.Close)
	return b
}

// do sends method path with body through the proxy and returns the status
// and the body, or the transport error.
func do(t *testing.T, c *http.Client, p *HTTP, method, path, body string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, p.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestHTTPPassRecordsAndRepoints(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	p := NewHTTP(t, a.URL)
	start := time.Now()
	code, body, err := do(t, http.DefaultClient, p, "PUT", "/v1/sys/leases/renew", `{"lease_id":"x"}`)
	if err != nil || code != 200 || !strings.Contains(body, `"backend":"a"`) || !strings.Contains(body, `lease_id`) {
		t.Fatalf("pass: %d %q %v", code, body, err)
	}
	if err := p.SetTarget(b.URL); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := do(t, http.DefaultClient, p, "GET", "/v1/database/creds/app", ""); !strings.Contains(body, `"backend":"b"`) {
		t.Fatalf("after SetTarget: %q", body)
	}
	recs := p.Records()
	if len(recs) != 2 {
		t.Fatalf("records: %+v", recs)
	}
	r := recs[0]
	if r.Method != "PUT" || r.Path != "sys/leases/renew" || r.Class != "sys/leases/renew" || r.Fault != "pass" || r.Status != 200 || r.At.Before(start) || r.Duration <= 0 {
		t.Fatalf("record: %+v", r)
	}
	if got := p.Counts(start, time.Time{}); got["sys/leases/renew"] != 1 || got["database/creds"] != 1 {
		t.Fatalf("counts: %v", got)
	}
	if got := p.Between(time.Now(), time.Time{}); len(got) != 0 {
		t.Fatalf("between now and later: %v", got)
	}
	if err := p.SetTarget("127.0.0.1:1"); err == nil {
		t.Fatal("a target without a scheme was accepted")
	}
}

func TestClass(t *testing.T) {
	for path, want := range map[string]string{
		"auth/approle/login":        "auth/login",
		"auth/ns/approle/login":     "auth/login",
		"auth/token/renew-self":     "auth/token/renew-self",
		"auth/token/lookup-self":    "auth/token/lookup-self",
		"sys/leases/renew":          "sys/leases/renew",
		"sys/leases/revoke":         "sys/leases/revoke",
		"database/creds/app":        "database/creds",
		"pki_int/issue/web-servers": "pki_int/issue",
		"sys/health":                "sys/health",
		"secret":                    "secret",
	} {
		if got := Class(path); got != want {
			t.Errorf("Class(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestHTTPDelay(t *testing.T) {
	a := newBackend(t, "a")
	p := NewHTTP(t, a.URL)
	p.Add(Rule{Path: "sys/leases/renew", Fault: Delay(300 * time.Millisecond)})
	start := time.Now()
	if code, _, err := do(t, http.DefaultClient, p, "PUT", "/v1/sys/leases/renew", "{}"); err != nil || code != 200 {
		t.Fatalf("delayed request: %d %v", code, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("answered after %v, want at least 300ms", d)
	}
	// Other paths are not delayed.
	start = time.Now()
	do(t, http.DefaultClient, p, "GET", "/v1/sys/health", "")
	if d := time.Since(start); d >= 300*time.Millisecond {
		t.Fatalf("an unmatched request took %v", d)
	}
	// A client that gives up during the delay is not forwarded.
	before := a.hits.Load()
	impatient := &http.Client{Timeout: 50 * time.Millisecond}
	if _, _, err := do(t, impatient, p, "PUT", "/v1/sys/leases/renew", "{}"); err == nil {
		t.Fatal("the impatient client got an answer")
	}
	// The handler has finished with the request once its duration is set.
	deadline := time.Now().Add(5 * time.Second)
	for recs := p.Records(); recs[len(recs)-1].Duration == 0; recs = p.Records() {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned request is still in the proxy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a.hits.Load() != before {
		t.Fatal("a request whose client gave up was forwarded")
	}
	if got := p.Records()[0].Fault; got != "delay 300ms" {
		t.Fatalf("fault recorded as %q", got)
	}
}

func TestHTTPStatus(t *testing.T) {
	a := newBackend(t, "a")
	p := NewHTTP(t, a.URL)
	id := p.Add(Rule{Method: "PUT", Path: "/sys/leases/", Fault: StatusRetryAfter(429, 2*time.Second)})
	p.Add(Rule{Fault: Status(503)})
	req, _ := http.NewRequest("PUT", p.URL+"/v1/sys/leases/renew", strings.NewReader("{}"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("got %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// The Vault client reads the body as Vault's error list.
	c, err := api.NewClient(&api.Config{Address: p.URL, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Logical().Read("secret/data/x")
	var re *api.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 503 || len(re.Errors) != 1 || !strings.Contains(re.Errors[0], "injected 503") {
		t.Fatalf("Vault client error: %v", err)
	}
	// Method matching: a GET under sys/leases falls to the 503 rule.
	if code, _, _ := do(t, http.DefaultClient, p, "GET", "/v1/sys/leases/lookup", ""); code != 503 {
		t.Fatalf("GET got %d, want 503", code)
	}
	p.Remove(id)
	p.Remove(id) // twice is harmless
	if code, _, _ := do(t, http.DefaultClient, p, "PUT", "/v1/sys/leases/renew", "{}"); code != 503 {
		t.Fatalf("after removing the 429 rule: %d", code)
	}
	p.Clear()
	if code, _, _ := do(t, http.DefaultClient, p, "PUT", "/v1/sys/leases/renew", "{}"); code != 200 {
		t.Fatalf("after Clear: %d", code)
	}
	if a.hits.Load() != 1 {
		t.Fatalf("backend saw %d requests, want only the last", a.hits.Load())
	}
}

func TestHTTPBodyMatch(t *testing.T) {
	a := newBackend(t, "a")
	p := NewHTTP(t, a.URL)
	p.Add(Rule{Path: "sys/leases/renew", BodyContains: "lease-B", Fault: Status(500)})
	if code, _, _ := do(t, http.DefaultClient, p, "PUT", "/v1/sys/leases/renew", `{"lease_id":"lease-A"}`); code != 200 {
		t.Fatalf("lease-A: %d", code)
	}
	code, _, _ := do(t, http.DefaultClient, p, "PUT", "/v1/sys/leases/renew", `{"lease_id":"lease-B"}`)
	if code != 500 {
		t.Fatalf("lease-B: %d", code)
	}
}

func TestHTTPReset(t *testing.T) {
	a := newBackend(t, "a")
	p := NewHTTP(t, a.URL)
	p.Add(Rule{Path: "auth/", Fault: Reset()})
	_, _, err := do(t, http.DefaultClient, p, "PUT", "/v1/auth/approle/login", "{}")
	if err == nil || !(strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "EOF")) {
		t.Fatalf("want a connection reset, got %v", err)
	}
	if a.hits.Load() != 0 {
		t.Fatal("a reset request reached the backend")
	}
	if r := p.Records()[0]; r.Fault != "reset" || r.Status != 0 || r.Class != "auth/login" {
		t.Fatalf("record: %+v", r)
	}
}

func TestHTTPUpstreamDown(t *testing.T) {
	a := newBackend(t, "a")
	p := NewHTTP(t, a.URL)
	a.Close()
	if _, _, err := do(t, http.DefaultClient, p, "GET", "/v1/sys/health", ""); err == nil {
		t.Fatal("a dead backend produced an answer")
	}
	if r := p.Records()[0]; r.Fault != "upstream down" || r.Status != 0 {
		t.Fatalf("record: %+v", r)
	}
}

func TestHTTPBlackHole(t *testing.T) {
	a := newBackend(t, "a")
	p := NewHTTP(t, a.URL)
	id := p.Add(Rule{Fault: BlackHole()})
	// A client with a deadline gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.URL+"/v1/sys/health", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	// A patient client is held until the rule is lifted, then forwarded.
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, _, err := do(t, http.DefaultClient, p, "GET", "/v1/sys/health", "")
		done <- result{code, err}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for len(p.Records()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second request never reached the proxy")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("a black-holed request was answered: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	if a.hits.Load() != 0 {
		t.Fatal("a black-holed request reached the backend")
	}
	p.Remove(id)
	select {
	case r := <-done:
		if r.err != nil || r.code != 200 {
			t.Fatalf("after lifting: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held request was not released when the rule was lifted")
	}
	if a.hits.Load() != 1 {
		t.Fatalf("backend saw %d requests, want the released one only", a.hits.Load())
	}
}
