package template

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// checkPEM checks a group's files before they are published: when they
// hold a private key and certificates, every certificate must parse, each
// key must belong to one of them, and that certificate must be valid now.
// Groups without both a key and a certificate are not checked.
func checkPEM(contents [][]byte, now time.Time) error {
	var certs []*x509.Certificate
	var keys []crypto.PublicKey
	for _, c := range contents {
		rest := c
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch b.Type {
			case "CERTIFICATE":
				cert, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return fmt.Errorf("certificate %d does not parse: %v", len(certs)+1, err)
				}
				certs = append(certs, cert)
			case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
				pub, err := publicKey(b)
				if err != nil {
					return fmt.Errorf("private key does not parse: %v", err)
				}
				keys = append(keys, pub)
			}
		}
	}
	if len(certs) == 0 || len(keys) == 0 {
		return nil
	}
	for _, k := range keys {
		leaf := matching(certs, k)
		if leaf == nil {
			return errors.New("the private key does not match the certificate")
		}
		if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
			return fmt.Errorf("certificate %q is not valid now (valid %s to %s)", leaf.Subject.CommonName,
				leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

func publicKey(b *pem.Block) (crypto.PublicKey, error) {
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported key type")
	}
	return s.Public(), nil
}

func matching(certs []*x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	for _, c := range certs {
		if e, ok := c.PublicKey.(equaler); ok && e.Equal(pub) {
			return c
		}
	}
	return nil
}
