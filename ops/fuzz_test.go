package ops

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// FuzzServer sends random requests (method, target, Host, headers, body)
// through each kind of listener's handler, against a fake Source whose
// error texts hold testSecret. It checks that the handler never panics or
// hangs, that nothing rotates without the request header, from another
// origin or through a foreign Host, that a metrics_only listener serves
// only /metrics, and that testSecret is never served. The seed corpus in
// testdata/fuzz/FuzzServer is replayed by every `go test`.
func FuzzServer(f *testing.F) {
	src := &fakeSource{st: failingStatus()}
	opts := []ListenerOptions{
		{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true},
		{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true, RequireRequestHeader: true},
		{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true, Role: RoleMetricsOnly},
		{Type: "unix", Address: filepath.Join(f.TempDir(), "f.sock"), EnableRotate: true},
		{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true, EnableQuit: true},
	}
	// The last listener also proxies Vault's API: a fake proxy answers
	// 299, so the checks below can tell a proxied request.
	proxied := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	servers := make([]*Server, len(opts))
	for i, o := range opts {
		api := APIOptions{}
		if o.EnableQuit {
			api = APIOptions{Proxy: proxied, CacheClear: proxied, Quit: func() {}}
		}
		s, err := NewServer(o, src, NewMetrics(src.Status), discard(), api)
		if err != nil {
			f.Fatal(err)
		}
		s.rotations = rate.NewLimiter(rate.Inf, 1) // the limit would hide the 200 path
		servers[i] = s
		f.Cleanup(func() { s.Close() })
	}
	f.Add("POST", "/agent/v1/rotate", "localhost", "", []byte(nil), uint8(0))
	f.Add("POST", "/agent/v1/rotate?secret=db", "127.0.0.1:8210", "X-Vault-Request: true\n", []byte(nil), uint8(0))
	f.Add("POST", "/agent/v1/rotate", "attacker.example", "X-Vault-Request: true\n", []byte("x"), uint8(0))
	f.Add("POST", "/agent/v1/rotate", "localhost", "X-Vault-Request: true\nOrigin: http://attacker.example\n", []byte(nil), uint8(1))
	f.Add("GET", "/agent/v1/status", "localhost", "", []byte(nil), uint8(0))
	f.Add("GET", "/readyz/etc/app/db.env", "localhost", "", []byte(nil), uint8(3))
	f.Add("GET", "/metrics", "localhost", "", []byte(nil), uint8(2))
	f.Add("PUT", "/agent/v1/rotate", "localhost", "X-Vault-Request: true\nSec-Fetch-Site: same-site\n", []byte("{}"), uint8(0))
	f.Add("PUT", "/v1/sys/leases/revoke", "localhost", "Origin: http://attacker.example\n", []byte(`{"lease_id":"x"}`), uint8(4))
	f.Add("GET", "/v1/database/creds/app", "rebind.example", "", []byte(nil), uint8(4))
	f.Add("POST", "/agent/v1/quit", "localhost", "", []byte(nil), uint8(4))
	f.Fuzz(func(t *testing.T, method, target, host, headers string, body []byte, which uint8) {
		s := servers[int(which)%len(servers)]
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n", method, target, host,
			strings.ReplaceAll(headers, "\n", "\r\n"), len(body))
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + string(body))))
		if err != nil {
			return // net/http refuses it before any handler runs
		}
		before := src.rotations()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.srv.Handler.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("handler hangs on %q", raw)
		}
		rotated := src.rotations() > before
		if rotated && (!hasRequestHeader(req) || req.Method != "POST") {
			t.Fatalf("rotated without the request header: %q", raw)
		}
		mutation := req.Method != "GET" && req.Method != "HEAD"
		if rec.Code == 299 && !strings.HasPrefix(req.URL.Path, "/v1/") && !strings.HasPrefix(req.URL.Path, "/agent/v1/cache-clear") {
			t.Fatalf("proxied a path that is not Vault's: %q", raw)
		}
		if rec.Code == 200 && mutation && !hasRequestHeader(req) {
			t.Fatalf("200 to a mutation without the request header: %q", raw)
		}
		if rec.Code == 200 || rec.Code == 299 || rotated {
			if !s.srv.Handler.(*guard).unix && !s.srv.Handler.(*guard).hostAllowed(req.Host) {
				t.Fatalf("served a foreign Host: %q", raw)
			}
			if !sameOrigin(req) || crossSite(req) {
				t.Fatalf("served a cross-origin request: %q", raw)
			}
			if s.cfg.RequireRequestHeader && !hasRequestHeader(req) {
				t.Fatalf("require_request_header ignored: %q", raw)
			}
			if s.cfg.Role == RoleMetricsOnly && req.URL.Path != "/metrics" && req.URL.Path != "/agent/v1/metrics" {
				t.Fatalf("metrics_only listener served %s", req.URL.Path)
			}
		}
		out := rec.Body.String() + fmt.Sprint(rec.Header())
		if strings.Contains(out, testSecret) || strings.Contains(out, "hunter2") {
			t.Fatalf("served the secret from an error text for %q:\n%s", raw, out)
		}
	})
}
