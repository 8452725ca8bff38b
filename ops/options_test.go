//go:build unix

package ops

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/lease"
)

// Host names: loopback names, IP literals and configured names only.
func TestHostAllowed(t *testing.T) {
	g := newGuard(nil, false, false, false, parseHosts(" Rotor.Internal., api.example:8210 "))
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.:8210": true, "app.localhost": true, "127.0.0.1:8210": true, "[::1]:8210": true,
		"[::1]": true, "10.1.2.3": true, "rotor.internal": true, "ROTOR.INTERNAL:443": true, "api.example.": true, "": true,
		"attacker.example": false, "localhost.attacker.example": false, "127.0.0.1.nip.io": false, "0x7f.1": false,
		"rotor.internal.attacker.example": false, "localhostx": false,
	} {
		if got := g.hostAllowed(host); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// The listener's own host name is allowed without configuring it.
func TestListenerNameAllowed(t *testing.T) {
	s, err := NewServer(ListenerOptions{Type: "tcp", Address: "localhost:0", AllowedHosts: "rotor.test"}, &fakeSource{}, nil, discard(), APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for host, want := range map[string]int{"rotor.test": 200, "localhost:99": 200, "other.test": 421} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Host = host
		s.srv.Handler.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

// Over a unix socket there is no Host to check, but mutations still need
// the header.
func TestUnixSocketSkipsHostCheckOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.sock")
	src := &fakeSource{}
	serve(t, ListenerOptions{Type: "unix", Address: path, EnableRotate: true}, src)
	c := unixClient(path)
	if code, _, _ := call(t, c, "GET", "http://rotor/healthz", nil, map[string]string{"Host": "any.name"}); code != 200 {
		t.Errorf("health over the socket: %d", code)
	}
	if code, _, _ := call(t, c, "POST", "http://rotor/agent/v1/rotate", nil, nil); code != 412 {
		t.Errorf("rotation without the header over the socket: %d, want 412", code)
	}
	if code, _, _ := call(t, c, "POST", "http://rotor/agent/v1/rotate", nil, map[string]string{"X-Vault-Request": "true", "Origin": "http://attacker.example"}); code != 403 {
		t.Errorf("cross-origin rotation over the socket: %d, want 403", code)
	}
	if src.rotations() != 0 {
		t.Fatal("a refused request rotated")
	}
}

// require_request_header applies to every endpoint of a default listener.
func TestRequireRequestHeader(t *testing.T) {
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", RequireRequestHeader: true}, &fakeSource{})
	for _, p := range []string{"/healthz", "/readyz", "/agent/v1/status", "/metrics"} {
		if code, _, _ := call(t, nil, "GET", base+p, nil, nil); code != 412 {
			t.Errorf("%s without the header: %d, want 412", p, code)
		}
		if code, _, _ := call(t, nil, "GET", base+p, nil, withHeader); code == 412 {
			t.Errorf("%s with the header: 412", p)
		}
	}
}

// A metrics_only listener serves /metrics and nothing else (as Vault
// Agent's), and ignores require_request_header (as Vault Agent does).
func TestMetricsOnlyListener(t *testing.T) {
	src := &fakeSource{}
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", Role: RoleMetricsOnly, EnableRotate: true, RequireRequestHeader: true}, src)
	if code, _, body := call(t, nil, "GET", base+"/metrics", nil, nil); code != 200 || !strings.Contains(body, "rotor_authenticated") {
		t.Errorf("metrics: %d %s", code, body)
	}
	for _, p := range []string{"/healthz", "/readyz", "/readyz/x", "/agent/v1/status"} {
		if code, _, _ := call(t, nil, "GET", base+p, nil, withHeader); code != 404 {
			t.Errorf("%s on a metrics_only listener: %d, want 404", p, code)
		}
	}
	if code, _, _ := call(t, nil, "POST", base+"/agent/v1/rotate", nil, withHeader); code != 404 && code != 405 || src.rotations() != 0 {
		t.Errorf("rotate on a metrics_only listener: %d", code)
	}
}

// The rate limit refills: one rotation every 60/RotationsPerMinute s.
func TestRotationRateRefills(t *testing.T) {
	src := &fakeSource{}
	s, err := NewServer(ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true}, src, nil, discard(), APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	s.now = func() time.Time { return now }
	post := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "http://localhost/agent/v1/rotate", nil)
		req.Header.Set(RequestHeader, "true")
		s.srv.Handler.ServeHTTP(rec, req)
		return rec
	}
	for i := range RotationBurst {
		if c := post().Code; c != 200 {
			t.Fatalf("rotation %d: %d", i+1, c)
		}
	}
	rec := post()
	if want := strconv.Itoa(60 / RotationsPerMinute); rec.Code != 429 || rec.Header().Get("Retry-After") != want {
		t.Fatalf("over the burst: %d, Retry-After %q, want 429 and %s", rec.Code, rec.Header().Get("Retry-After"), want)
	}
	now = now.Add(time.Minute / RotationsPerMinute)
	if c := post().Code; c != 200 {
		t.Fatalf("after the refill interval: %d", c)
	}
	if c := post().Code; c != 429 {
		t.Fatalf("second after one refill: %d", c)
	}
	if n := src.rotations(); n != RotationBurst+1 {
		t.Fatalf("%d rotations, want %d", n, RotationBurst+1)
	}
}

// Bad roles and TLS versions fail at start; tls_min_version is enforced.
func TestTLSMinVersionAndValidation(t *testing.T) {
	for _, o := range []ListenerOptions{
		{Type: "tcp", Address: "127.0.0.1:0", Role: "admin"},
		{Type: "tcp", Address: "127.0.0.1:0", TLSMinVersion: "ssl3"},
	} {
		if s, err := NewServer(o, &fakeSource{}, nil, discard(), APIOptions{}); err == nil {
			s.Close()
			t.Errorf("%+v accepted", o)
		}
	}
	cert, key := selfSigned(t)
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key, TLSMinVersion: "tls13"}, &fakeSource{})
	url := strings.Replace(base, "http://", "https://", 1) + "/healthz"
	for maxVersion, ok := range map[uint16]bool{tls.VersionTLS12: false, tls.VersionTLS13: true} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion}}}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != ok {
			t.Errorf("client up to TLS %x: err %v, want success %v", maxVersion, err, ok)
		}
	}
}

func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
	return certFile, keyFile
}

// socket_mode, socket_user and socket_group are applied (by ID and by
// name); an unknown user fails at start.
func TestSocketOwnerAndMode(t *testing.T) {
	gid := os.Getgid()
	g, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		t.Skip("no name for the current group")
	}
	dir := t.TempDir()
	for i, o := range []ListenerOptions{
		{SocketUser: strconv.Itoa(os.Getuid()), SocketGroup: strconv.Itoa(gid), Mode: 0o660},
		{SocketGroup: g.Name, Mode: 0o640},
	} {
		o.Type, o.Address = "unix", filepath.Join(dir, strconv.Itoa(i)+".sock")
		s, err := NewServer(o, &fakeSource{}, nil, discard(), APIOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Lstat(o.Address)
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != o.Mode || int(st.Gid) != gid || int(st.Uid) != os.Getuid() {
			t.Errorf("%+v: mode %o owner %d:%d", o, fi.Mode().Perm(), st.Uid, st.Gid)
		}
		s.Close()
		if _, err := os.Lstat(o.Address); !os.IsNotExist(err) {
			t.Errorf("Close left the socket: %v", err)
		}
	}
	o := ListenerOptions{Type: "unix", Address: filepath.Join(dir, "x.sock"), SocketUser: "no-such-user-rotor"}
	if s, err := NewServer(o, &fakeSource{}, nil, discard(), APIOptions{}); err == nil {
		s.Close()
		t.Fatal("unknown socket_user accepted")
	}
	if _, err := os.Lstat(o.Address); !os.IsNotExist(err) {
		t.Fatal("a failed start left a socket behind")
	}
}

// The default socket mode is owner-only.
func TestSocketDefaultMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.sock")
	serve(t, ListenerOptions{Type: "unix", Address: path}, &fakeSource{})
	if fi, _ := os.Lstat(path); fi.Mode().Perm() != DefaultSocketMode {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Fatalf("the temporary bind directory is left: %v", entries)
	}
}

// One listener, two roles: /v1/ is Vault's API (proxied, never shadowed
// by rotor's own endpoints, which live under /agent/v1/), and a browser
// still cannot reach it cross-site.
func TestProxyServesV1AndRotorMovedToAgentPrefix(t *testing.T) {
	var got []string
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path)
		w.WriteHeader(204)
	})
	s, err := NewServer(ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", EnableRotate: true, EnableQuit: true}, &fakeSource{}, nil, discard(),
		APIOptions{Proxy: proxy, CacheClear: proxy, Quit: func() {}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	serve := func(method, path string, hdr map[string]string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, "http://localhost"+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		s.srv.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, p := range []string{"/v1/status", "/v1/rotate", "/v1/sys/health"} {
		if code := serve("GET", p, nil); code != 204 {
			t.Errorf("GET %s: %d, want the proxy's 204", p, code)
		}
	}
	// A Vault client need not send X-Vault-Request for a proxied write
	// (Vault Agent does not require it either)...
	if code := serve("POST", "/v1/secret/data/app", nil); code != 204 {
		t.Errorf("proxied POST without the header: %d", code)
	}
	// ...but a browser page on another site is refused.
	if code := serve("POST", "/v1/sys/leases/revoke", map[string]string{"Origin": "http://attacker.example"}); code != 403 {
		t.Errorf("cross-site proxied POST: %d, want 403", code)
	}
	if len(got) != 4 {
		t.Errorf("proxy saw %q", got)
	}
	if code := serve("GET", "/agent/v1/status", nil); code != 200 {
		t.Errorf("GET /agent/v1/status: %d", code)
	}
	for _, p := range []string{"/agent/v1/cache-clear", "/agent/v1/quit", "/agent/v1/rotate"} {
		if code := serve("POST", p, nil); code != 412 {
			t.Errorf("POST %s without the header: %d, want 412", p, code)
		}
	}
}

// A non-loopback TCP listener without TLS is refused unless tls_disable
// says plain HTTP is wanted there.
func TestNonLoopbackPlaintextRefused(t *testing.T) {
	if _, err := NewServer(ListenerOptions{Type: "tcp", Address: "0.0.0.0:0"}, &fakeSource{}, nil, discard(), APIOptions{}); err == nil ||
		!strings.Contains(err.Error(), "tls_disable") {
		t.Fatalf("err %v", err)
	}
	s, err := NewServer(ListenerOptions{Type: "tcp", Address: "0.0.0.0:0", TLSDisable: true}, &fakeSource{}, nil, discard(), APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// While a secret cannot be renewed but is still valid, /readyz stays 200
// and names it as degraded, with its class.
func TestReadyzDegraded(t *testing.T) {
	src := &fakeSource{}
	src.st.Authenticated = true
	src.st.Leases = []lease.Status{{Path: "database/creds/app", LastError: "renew lease of database/creds/app: Code: 503. Errors: * Vault is sealed",
		ErrorClass: "vault_unavailable"}}
	s, err := NewServer(ListenerOptions{Type: "tcp", Address: "127.0.0.1:0"}, src, nil, discard(), APIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := httptest.NewRecorder()
	s.srv.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost/readyz", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"degraded"`) || !strings.Contains(rec.Body.String(), "database/creds/app") ||
		!strings.Contains(rec.Body.String(), `"vault_unavailable"`) || strings.Contains(rec.Body.String(), "sealed") {
		t.Fatalf("readyz: %d %s", rec.Code, rec.Body.String())
	}
}
