package kubereal

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
	"time"
)

// CA is a certificate authority of a test: it signs serving certificates
// for loopback servers (the API server, a webhook).
type CA struct {
	// PEM is the CA certificate, for a client's trust (a webhook's
	// caBundle, a service account's ca.crt).
	PEM  []byte
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a self-signed ECDSA CA valid for a day.
func NewCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	der, err := sign(tmpl, nil, key, nil)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key}, nil
}

// Serving writes a serving certificate for 127.0.0.1, ::1 and localhost
// (plus dnsNames) and its key to dir/name.crt and dir/name.key, and
// returns their paths.
func (ca *CA) Serving(dir, name string, dnsNames ...string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name},
		DNSNames:    append([]string{"localhost"}, dnsNames...),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := sign(tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := writeKey(keyFile, key); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// sign fills in the serial and validity of tmpl and signs it: for the
// public key pubOrKey with parent and parentKey, or, when parent is nil,
// self-signed with pubOrKey, then the *ecdsa.PrivateKey of a new CA.
func sign(tmpl, parent *x509.Certificate, pubOrKey any, parentKey *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	// Backdated: a skewed clock must not make a fresh certificate "not yet valid".
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-5*time.Minute), time.Now().Add(24*time.Hour)
	if parent == nil {
		k := pubOrKey.(*ecdsa.PrivateKey)
		return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	}
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pubOrKey, parentKey)
}

// writeKey writes key as PKCS#8 PEM, mode 0600.
func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("key %s: %w", path, err)
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// newSigningKey writes a fresh ECDSA key for service account tokens (ES256)
// to keyFile and its public key to pubFile (the API server reads public
// keys only from "PUBLIC KEY" PEM).
func newSigningKey(keyFile, pubFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writeKey(keyFile, key); err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}
