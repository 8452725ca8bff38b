// Package cloudfake fakes the cloud endpoints Vault Agent's gcp, azure and
// alicloud auto-auth methods call, so rotor's methods and Vault Agent's own
// code (test/vault/authcheck) can be run against the same fakes and their
// login requests compared:
//
//   - GCP: the GCE metadata server (/computeMetadata/v1/...: instance
//     identity tokens, service-account access tokens and emails), Google's
//     OAuth 2.0 token endpoint (the JWT-bearer grant of a service-account
//     key) and the IAM Credentials signJwt API.
//   - Azure: the instance metadata service (/metadata/instance and the
//     managed identity token endpoint) and Microsoft Entra ID
//     (login.microsoftonline.com: instance and tenant discovery, the
//     client-credentials token endpoint with a secret or a federated
//     assertion).
//   - Alibaba Cloud: the ECS metadata service (RAM role credentials, the
//     metadata token) and STS GetCallerIdentity, whose signature it checks.
//
// Fake is one HTTP server on 127.0.0.1. Requests are routed by path, so it
// answers the same whether a client calls it directly (GCE_METADATA_HOST, an
// endpoint override), through it as an HTTP proxy (absolute request URIs,
// e.g. http://169.254.169.254/metadata/instance) or through it as an HTTPS
// proxy: a CONNECT is answered by terminating TLS with a certificate for the
// requested host issued by the fake's own CA (CAFile), so a client trusting
// that CA talks to "iamcredentials.googleapis.com" and reaches the fake.
// Everything it issues is signed with keys it holds, and Verify* functions
// check what a Vault plugin would check.
//
// Everything here is test-only: New takes a testing.TB and registers its
// own cleanup.
package cloudfake

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake is the fake cloud. Its methods are safe for concurrent use.
type Fake struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234": the
	// metadata servers' base, and the proxy URL for HTTP_PROXY/HTTPS_PROXY.
	URL string
	// CAFile is the PEM file of the CA that issues the certificates the
	// fake presents to CONNECT clients (for SSL_CERT_FILE).
	CAFile string

	srv    *httptest.Server
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	certs  sync.Map // host -> *tls.Certificate

	mu  sync.Mutex // guards everything below
	log []Request
	gcp gcpState
	az  azureState
	ali aliState
}

// Request is one request the fake answered.
type Request struct {
	Method string
	Host   string // as the client named it: "metadata", "169.254.169.254", "iamcredentials.googleapis.com"
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// New starts a fake cloud with one GCP project, one Azure VM and one ECS
// instance (see the *Default* constants) and stops it when the test ends.
func New(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{}
	if err := f.newCA(t.TempDir()); err != nil {
		t.Fatalf("cloudfake: %v", err)
	}
	f.gcp.init()
	f.az.init()
	f.ali.init()
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// Client returns an HTTP client that sends every request to the fake (as
// its proxy) and trusts the fake's CA: a stand-in for a client with
// HTTP_PROXY, HTTPS_PROXY and SSL_CERT_FILE pointing at the fake.
func (f *Fake) Client() *http.Client {
	proxy, _ := url.Parse(f.URL)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxy),
		TLSClientConfig: &tls.Config{RootCAs: f.pool},
	}}
}

// Env returns the environment that points a process's HTTP clients at the
// fake: proxies, the CA, and GCE_METADATA_HOST.
func (f *Fake) Env() map[string]string {
	return map[string]string{
		"HTTP_PROXY": f.URL, "HTTPS_PROXY": f.URL, "http_proxy": f.URL, "https_proxy": f.URL,
		"NO_PROXY": "", "no_proxy": "", "SSL_CERT_FILE": f.CAFile,
		"GCE_METADATA_HOST": strings.TrimPrefix(f.URL, "http://"),
	}
}

// Requests returns the requests answered so far whose path starts with
// prefix, oldest first.
func (f *Fake) Requests(prefix string) []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Request
	for _, r := range f.log {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets the requests answered so far.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = nil
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		f.connect(w, r)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	req := Request{Method: r.Method, Host: r.Host, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	f.mu.Lock()
	f.log = append(f.log, req)
	f.mu.Unlock()
	status, answer := f.route(req)
	switch a := answer.(type) {
	case string:
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		io.WriteString(w, a)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(a)
	}
}

// route answers one request: a status and a string (text) or a value (JSON).
func (f *Fake) route(r Request) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.Path
	switch {
	case strings.HasPrefix(p, "/computeMetadata/"):
		return f.gcpMetadata(r)
	case p == "/o/oauth2/token" || p == "/token":
		return f.gcpToken(r)
	case strings.HasPrefix(p, "/v1/projects/-/serviceAccounts/") && strings.HasSuffix(p, ":signJwt"):
		return f.gcpSignJwt(r)
	case strings.HasPrefix(p, "/metadata/"):
		return f.azureIMDS(r)
	case p == "/common/discovery/instance" || strings.Contains(p, "/v2.0/.well-known/openid-configuration") ||
		strings.HasSuffix(p, "/oauth2/v2.0/token"):
		return f.entra(r)
	case strings.HasPrefix(p, "/latest/"):
		return f.ecsMetadata(r)
	case p == "/" && r.Query.Get("Action") == "GetCallerIdentity":
		id, err := f.verifyAliLocked(r.Host, r.Query, r.Header)
		if err != nil {
			return http.StatusBadRequest, map[string]string{"Code": "SignatureDoesNotMatch", "Message": err.Error()}
		}
		return http.StatusOK, id
	}
	return http.StatusNotFound, "cloudfake: no such endpoint: " + r.Method + " " + r.Host + p
}

// connect answers a CONNECT as an intercepting HTTPS proxy: TLS with a
// certificate for the requested host, then the fake's own handler.
func (f *Fake) connect(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n"); err != nil || rw.Flush() != nil {
		conn.Close()
		return
	}
	tc := tls.Server(&bufferedConn{Conn: conn, r: rw.Reader}, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return f.certFor(host)
	}, NextProtos: []string{"http/1.1"}})
	go func() {
		defer tc.Close()
		br := bufio.NewReader(tc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.URL.Scheme, req.URL.Host = "https", r.Host
			rec := httptest.NewRecorder()
			f.serve(rec, req)
			resp := rec.Result()
			resp.ContentLength = int64(rec.Body.Len())
			if err := resp.Write(tc); err != nil {
				return
			}
		}
	}()
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (f *Fake) newCA(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cloudfake CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	f.caCert, _ = x509.ParseCertificate(der)
	f.caKey = key
	f.pool = x509.NewCertPool()
	f.pool.AddCert(f.caCert)
	f.CAFile = filepath.Join(dir, "cloudfake-ca.pem")
	return os.WriteFile(f.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func (f *Fake) certFor(host string) (*tls.Certificate, error) {
	if c, ok := f.certs.Load(host); ok {
		return c.(*tls.Certificate), nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.caCert, &key.PublicKey, f.caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	f.certs.Store(host, c)
	return c, nil
}

// mustRSA makes a 2048-bit RSA key (the size Google and Entra sign with).
func mustRSA() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// randomID returns n random bytes, hex-encoded.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
