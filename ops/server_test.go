package ops

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// testSecret is a value the fake status carries in its error texts, as a
// Vault or template error that redaction missed would. The API must never
// serve it.
const testSecret = "pw-Zq8v!hunter2-NEVER-SERVE"

// fakeSource is a Source with fixed status that counts rotations.
type fakeSource struct {
	mu      sync.Mutex
	st      Status
	rotated []string
}

func (f *fakeSource) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeSource) Rotate(match string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotated = append(f.rotated, match)
	return 1
}

func (f *fakeSource) rotations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.rotated)
}

// failingStatus has a template and a lease whose errors quote testSecret.
func failingStatus() Status {
	exit := 2
	return Status{
		Authenticated: true,
		Leases: []lease.Status{{Path: "database/creds/app", Engine: "database", Class: "lease", ErrorClass: "vault_denied",
			LastError: "database/creds/app: Error making API request.\n\nURL: GET http://127.0.0.1:8200/v1/database/creds/app\nCode: 403. Errors:\n\n* permission denied for " + testSecret}},
		Templates: []template.Status{
			{Name: "/etc/app/db.env", LastError: `template: :3:14: executing "" at <toJSON .>: error calling toJSON: bad value ` + testSecret, Failures: 2,
				ErrorClass: "template_execute", ErrorLine: 3, ErrorCol: 14, ErrorFunction: "toJSON"},
			{Name: "/etc/app/ok.env", Rendered: true, CommandErr: "exit status 2: " + testSecret, CommandExit: &exit},
			{Name: "env SECRET", LastError: "something that carries no class: " + testSecret},
		},
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// serve runs a server on o until the test ends; it returns the server and
// its base URL (for tcp).
func serve(t *testing.T, o ListenerOptions, src Source) (*Server, string) {
	t.Helper()
	s, err := NewServer(o, src, NewMetrics(src.Status), discard(), APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, "http://" + s.Addr()
}

// call sends one request; hdr may set "Host" to override the Host header.
func call(t *testing.T, c *http.Client, method, url string, body io.Reader, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var withHeader = map[string]string{"X-Vault-Request": "true"}

// A web page cannot make rotor rotate (and so revoke the credentials in
// use): not by a plain cross-site POST, not through DNS rebinding, not
// with an Origin or Fetch Metadata that names another site.
func TestBrowserCannotForceRotation(t *testing.T) {
	src := &fakeSource{st: Status{Authenticated: true}}
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true}, src)
	cases := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		// An HTML form or fetch() without preflight: a simple request,
		// which cannot carry a custom header.
		{"simple cross-site POST", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 412},
		{"DNS rebinding", map[string]string{"Host": "attacker.example:8210", "X-Vault-Request": "true"}, 421},
		{"rebinding to a name ending in an IP", map[string]string{"Host": "127.0.0.1.nip.io", "X-Vault-Request": "true"}, 421},
		{"foreign Origin", map[string]string{"Origin": "http://attacker.example", "X-Vault-Request": "true"}, 403},
		{"null Origin", map[string]string{"Origin": "null", "X-Vault-Request": "true"}, 403},
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "X-Vault-Request": "true"}, 403},
		{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "X-Vault-Request": "true"}, 403},
		{"header with another value", map[string]string{"X-Vault-Request": "1"}, 412},
	}
	for _, c := range cases {
		code, _, body := call(t, nil, "POST", base+"/agent/v1/rotate", nil, c.hdr)
		if code != c.want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d with a JSON error", c.name, code, body, c.want)
		}
	}
	if n := src.rotations(); n != 0 {
		t.Fatalf("%d forged rotations went through", n)
	}
	// The CLI's request (and a same-origin one, and a typed URL) works.
	for _, h := range []map[string]string{
		withHeader,
		{"X-Vault-Request": "true", "Origin": base, "Sec-Fetch-Site": "same-origin"},
		{"X-Vault-Request": "true", "Host": "localhost", "Sec-Fetch-Site": "none"},
	} {
		if code, _, body := call(t, nil, "POST", base+"/agent/v1/rotate?secret=db", nil, h); code != 200 {
			t.Fatalf("legitimate rotation %v refused: %d %s", h, code, body)
		}
	}
	// Reads are refused to rebinding pages too: status names every secret.
	if code, _, _ := call(t, nil, "GET", base+"/agent/v1/status", nil, map[string]string{"Host": "attacker.example"}); code != 421 {
		t.Fatalf("status served to a rebinding page: %d", code)
	}
}

// Rotation is rate-limited per listener, with Retry-After.
func TestRotationRateLimited(t *testing.T) {
	src := &fakeSource{}
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true}, src)
	var code int
	var hdr http.Header
	for range 20 {
		if code, hdr, _ = call(t, nil, "POST", base+"/agent/v1/rotate", nil, withHeader); code != 200 {
			break
		}
	}
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Fatalf("after %d rotations: %d, Retry-After %q; want 429 with Retry-After", src.rotations(), code, hdr.Get("Retry-After"))
	}
	if n := src.rotations(); n != 5 {
		t.Fatalf("%d rotations before the limit, want 5", n)
	}
}

// Request bodies and headers are bounded.
func TestRequestSizeLimits(t *testing.T) {
	src := &fakeSource{}
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true}, src)
	big := strings.NewReader(strings.Repeat("x", 1<<20))
	if code, _, _ := call(t, nil, "POST", base+"/agent/v1/rotate", big, withHeader); code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d, want 413", code)
	}
	hdr := map[string]string{"X-Filler": strings.Repeat("y", 100<<10)}
	if code, _, _ := call(t, nil, "GET", base+"/healthz", nil, hdr); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB header: %d, want 431", code)
	}
	if src.rotations() != 0 {
		t.Error("an oversized request rotated")
	}
}

// Error text never leaves rotor through the API: status, readiness and
// per-template readiness give classes, and the secret in the error text
// appears nowhere.
func TestAPIServesErrorClassesNotText(t *testing.T) {
	src := &fakeSource{st: failingStatus()}
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0"}, src)
	for path, want := range map[string][]string{
		"/agent/v1/status":         {`"vault_denied"`, `"template_execute"`, `"line": 3`, `"col": 14`, `"function": "toJSON"`, `"command_failed"`, `"class": "error"`},
		"/readyz":                  {`"template_execute"`, `"class": "error"`},
		"/readyz/etc/app/db.env":   {`"template_execute"`, `"line": 3`, `"function": "toJSON"`},
		"/readyz/env SECRET":       {`"class": "error"`},
		"/readyz/no/such/template": {`"error"`},
	} {
		_, _, body := call(t, nil, "GET", base+strings.ReplaceAll(path, " ", "%20"), nil, nil)
		if strings.Contains(body, "hunter2") || strings.Contains(body, "permission denied") || strings.Contains(body, "bad value") {
			t.Errorf("%s serves error text:\n%s", path, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %s:\n%s", path, w, body)
			}
		}
	}
}

// The timeouts, the header limit and the body limit are set (their effect
// is tested on a fake clock in timeouts_test.go).
func TestServerLimitsSet(t *testing.T) {
	s, _ := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0"}, &fakeSource{})
	if s.srv.ReadHeaderTimeout <= 0 || s.srv.ReadTimeout <= 0 || s.srv.WriteTimeout <= 0 || s.srv.IdleTimeout <= 0 {
		t.Errorf("timeouts: header %v read %v write %v idle %v", s.srv.ReadHeaderTimeout, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout)
	}
	if s.srv.MaxHeaderBytes <= 0 || s.srv.MaxHeaderBytes > 64<<10 {
		t.Errorf("MaxHeaderBytes %d", s.srv.MaxHeaderBytes)
	}
}
