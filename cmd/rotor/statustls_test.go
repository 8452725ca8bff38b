package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// toServer makes c dial srv whatever host its URLs name, so that a test
// can use a non-loopback name without DNS. TLS still checks the name.
func toServer(c *http.Client, srv *httptest.Server) {
	c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
}

// selfSigned returns a new self-signed certificate's DER bytes.
func selfSigned(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "other"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rotor status, health and rotate verify the listener's certificate: a
// certificate nobody vouches for is refused at a remote address; the CA
// of -ca-cert (or ROTOR_CACERT) is trusted, and so is, with -config, the
// very certificate the listener's tls_cert_file names (pinned, whatever
// the address). A loopback address keeps working with a self-signed
// certificate: nothing secret is sent, and the connection never leaves
// the host.
func TestStatusVerifiesTheListenersCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "the agent") }))
	defer srv.Close()
	dir := t.TempDir()
	caFile := writePEM(t, dir, "ca.pem", srv.Certificate().Raw) // httptest's certificate is its own CA
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	get := func(addr, ca string, configs []string) error {
		c, base, err := statusClient(addr, ca, configs)
		if err != nil {
			return err
		}
		toServer(c, srv)
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); string(b) != "the agent" {
			return fmt.Errorf("answer %q", b)
		}
		return nil
	}
	remote := "https://rotor.example.net:" + port
	if err := get(remote, "", nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an unknown certificate at a remote address was accepted: %v", err)
	}
	if err := get("https://example.com:"+port, caFile, nil); err != nil {
		t.Fatalf("-ca-cert: %v", err)
	}
	t.Setenv("ROTOR_CACERT", caFile)
	if err := get("https://example.com:"+port, "", nil); err != nil {
		t.Fatalf("ROTOR_CACERT: %v", err)
	}
	if err := get(remote, "", nil); err == nil {
		t.Fatal("a CA's certificate for another name was accepted")
	}
	t.Setenv("ROTOR_CACERT", "")
	for _, lo := range []string{"https://127.0.0.1:" + port, "https://localhost:" + port, "https://[::1]:" + port} {
		if err := get(lo, "", nil); err != nil {
			t.Errorf("loopback %s: %v", lo, err)
		}
	}

	// -config: the listener's own certificate is pinned.
	config := func(certFile string) string {
		p := filepath.Join(t.TempDir(), "agent.hcl")
		os.WriteFile(p, []byte(fmt.Sprintf(`vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "token_file" { config = { token_file_path = "/nonexistent" } }
}
listener "tcp" {
  address       = "10.9.8.7:%s"
  tls_cert_file = %q
  tls_key_file  = %q
}
template {
  contents    = "x"
  destination = "/nonexistent/out"
}
`, port, certFile, certFile)), 0o600)
		return p
	}
	if err := get("", "", []string{config(caFile)}); err != nil {
		t.Fatalf("-config with the listener's certificate: %v", err)
	}
	otherFile := writePEM(t, dir, "other.pem", selfSigned(t))
	if err := get("", "", []string{config(otherFile)}); err == nil || !strings.Contains(err.Error(), "tls_cert_file") {
		t.Fatalf("a certificate other than tls_cert_file's was accepted: %v", err)
	}
}
