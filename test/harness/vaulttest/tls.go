package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CertPair is a PEM certificate and its private key, written to files.
type CertPair struct {
	CertFile string // PEM certificate
	KeyFile  string // PEM private key (PKCS#8), mode 0600
	CertPEM  []byte // contents of CertFile
}

// NewClientCert creates a self-signed ECDSA CA and a client certificate with
// common name cn signed by it (ExtKeyUsageClientAuth), valid for 24 hours.
// Files are written to a fresh t.TempDir(). Pass ca.CertPEM to SetupCert and
// client to (*Server).NewCertClient or to the agent under test.
func NewClientCert(t testing.TB, cn string) (ca, client CertPair) {
	t.Helper()
	dir := t.TempDir()
	caCert, caKey, caPair, err := newCA(dir, "vaulttest client CA")
	if err != nil {
		t.Fatalf("vaulttest: client CA: %v", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	client, err = issue(dir, "client", tmpl, caCert, caKey)
	if err != nil {
		t.Fatalf("vaulttest: client cert: %v", err)
	}
	return caPair, client
}

// writeServerTLS writes the files Vault's -dev-tls mode would write
// (vault-ca.pem, vault-cert.pem, vault-key.pem) to dir. The server
// certificate is valid for 127.0.0.1, ::1 and localhost.
func writeServerTLS(dir string) error {
	caCert, caKey, _, err := newCA(dir, "vaulttest server CA")
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, err := issue(dir, "server", tmpl, caCert, caKey); err != nil {
		return err
	}
	// Use Vault's dev-tls file names so that docs and tooling that know
	// -dev-tls find the files where they expect them.
	for from, to := range map[string]string{"ca.pem": caFileName, "server.pem": "vault-cert.pem", "server-key.pem": "vault-key.pem"} {
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
			return err
		}
	}
	return nil
}

// newCA creates a self-signed CA certificate, written to dir/ca.pem and
// dir/ca-key.pem.
func newCA(dir, cn string) (*x509.Certificate, *ecdsa.PrivateKey, CertPair, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	pair, cert, key, err := issueKey(dir, "ca", tmpl, nil, nil)
	return cert, key, pair, err
}

// issue is issueKey for callers that only need the files.
func issue(dir, name string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (CertPair, error) {
	pair, _, _, err := issueKey(dir, name, tmpl, parent, parentKey)
	return pair, err
}

// issueKey fills in serial and validity, signs tmpl with parent/parentKey
// (or self-signs when parent is nil) and writes dir/<name>.pem and
// dir/<name>-key.pem.
func issueKey(dir, name string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (CertPair, *x509.Certificate, *ecdsa.PrivateKey, error) {
	fail := func(err error) (CertPair, *x509.Certificate, *ecdsa.PrivateKey, error) {
		return CertPair{}, nil, nil, fmt.Errorf("certificate %s: %w", name, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fail(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return fail(err)
	}
	tmpl.SerialNumber = serial
	// Backdate a little so a skewed clock does not make a fresh cert "not yet valid".
	tmpl.NotBefore = time.Now().Add(-5 * time.Minute)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return fail(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fail(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fail(err)
	}
	p := CertPair{
		CertFile: filepath.Join(dir, name+".pem"),
		KeyFile:  filepath.Join(dir, name+"-key.pem"),
		CertPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}
	if err := os.WriteFile(p.CertFile, p.CertPEM, 0o644); err != nil {
		return fail(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(p.KeyFile, keyPEM, 0o600); err != nil {
		return fail(err)
	}
	return p, cert, key, nil
}
