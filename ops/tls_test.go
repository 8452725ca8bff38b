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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientCA makes a CA and a client certificate it signed.
func clientCA(t *testing.T) (caFile string, client tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "clients"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "app"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// A listener with tls_require_and_verify_client_cert serves only clients
// whose certificate chains to tls_client_ca_file: before, the setting
// was parsed and dropped, and a client with no certificate was served
// (and proxied).
func TestListenerRequiresClientCertificates(t *testing.T) {
	cert, key := selfSigned(t)
	caFile, good := clientCA(t)
	_, otherCert := clientCA(t) // signed by another CA
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key,
		TLSRequireClientCert: true, TLSClientCAFile: caFile}, &fakeSource{})
	url := strings.Replace(base, "http://", "https://", 1) + "/healthz"
	get := func(certs ...tls.Certificate) error {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if err := get(otherCert); err == nil {
		t.Fatal("a client with a certificate from another CA was served")
	}
	if err := get(good); err != nil {
		t.Fatalf("a client with a good certificate: %v", err)
	}
}

// tls_max_version and tls_cipher_suites are applied; settings Vault's
// listener refuses fail at start with its reason.
func TestListenerTLSSettings(t *testing.T) {
	cert, key := selfSigned(t)
	for _, o := range []ListenerOptions{
		{TLSMaxVersion: "tls14"},
		{TLSMinVersion: "tls13", TLSMaxVersion: "tls12"},
		{TLSCipherSuites: "TLS_NOT_A_CIPHER"},
		{TLSRequireClientCert: true, TLSDisableClientCerts: true},
		{TLSRequireClientCert: true, TLSClientCAFile: "/nonexistent/ca.pem"},
	} {
		o.Type, o.Address, o.TLSCertFile, o.TLSKeyFile = "tcp", "127.0.0.1:0", cert, key
		if s, err := NewServer(o, &fakeSource{}, nil, discard(), APIOptions{}); err == nil {
			s.Close()
			t.Errorf("%+v accepted", o)
		}
	}
	_, base := serve(t, ListenerOptions{Type: "tcp", Address: "127.0.0.1:0", TLSCertFile: cert, TLSKeyFile: key, TLSMaxVersion: "tls12",
		TLSCipherSuites: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, &fakeSource{})
	url := strings.Replace(base, "http://", "https://", 1) + "/healthz"
	for _, c := range []struct {
		cfg *tls.Config
		ok  bool
	}{
		{&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}, false},
		{&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, false},
		{&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}}, true},
	} {
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: c.cfg}}
		resp, err := cl.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != c.ok {
			t.Errorf("client %+v: err %v, want success %v", c.cfg, err, c.ok)
		}
	}
}
