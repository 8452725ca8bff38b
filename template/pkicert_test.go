package template

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	gotemplate "text/template"
	"time"
)

// testPKI is a root and an intermediate CA issuing leaves, shaped like the
// article's pki/ and pki_int/.
type testPKI struct {
	t               *testing.T
	root, int       *x509.Certificate
	rootKey, intKey *ecdsa.PrivateKey
	rootPEM, intPEM string // as Vault gives them: no final newline
	serial          int64
}

func newTestPKI(t *testing.T) *testPKI {
	p := &testPKI{t: t, serial: 1000}
	p.root, p.rootKey, p.rootPEM = p.make("Example Root CA", true, nil, nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	p.int, p.intKey, p.intPEM = p.make("Example Intermediate CA", true, p.root, p.rootKey, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	return p
}

func (p *testPKI) make(cn string, ca bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, nb, na time.Time) (*x509.Certificate, *ecdsa.PrivateKey, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na,
		IsCA: ca, BasicConstraintsValid: ca}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		p.t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key, strings.TrimSuffix(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), "\n")
}

// issue returns the data of a pki_int/issue answer for a leaf valid from
// nb to na.
func (p *testPKI) issue(cn string, nb, na time.Time) map[string]any {
	leaf, key, certPEM := p.make(cn, false, p.int, p.intKey, nb, na)
	der, _ := x509.MarshalECPrivateKey(key)
	return map[string]any{
		"certificate":      certPEM,
		"private_key":      strings.TrimSuffix(string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), "\n"),
		"private_key_type": "ec",
		"issuing_ca":       p.intPEM,
		"ca_chain":         []any{p.intPEM, p.rootPEM},
		"serial_number":    serialHex(leaf.SerialNumber.Bytes()),
		"expiration":       json.Number(fmt.Sprint(na.Unix())),
	}
}

// pkiCert's fields are Vault Agent's: every PEM ends with a newline, so
// "{{ .Cert }}{{ .Key }}" is a valid bundle; .CA is the issuing CA and
// .CAChain the chain once each.
func TestPkiCertFieldsAreVaultAgents(t *testing.T) {
	p := newTestPKI(t)
	data := p.issue("api.example.com", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	pems, leaf, err := pemsFromData(data)
	if err != nil {
		t.Fatal(err)
	}
	if leaf == nil || leaf.Subject.CommonName != "api.example.com" {
		t.Fatalf("leaf %v", leaf)
	}
	if pems.Cert != data["certificate"].(string)+"\n" || pems.Key != data["private_key"].(string)+"\n" {
		t.Fatal(".Cert and .Key must be Vault's PEM with a final newline")
	}
	if pems.CA != p.intPEM+"\n" {
		t.Fatal(".CA must be the issuing CA")
	}
	if len(pems.CAChain) != 2 || pems.CAChain[0] != p.intPEM+"\n" || pems.CAChain[1] != p.rootPEM+"\n" {
		t.Fatalf(".CAChain has %d entries, want the intermediate then the root", len(pems.CAChain))
	}
	var b strings.Builder
	gotemplate.Must(gotemplate.New("").Parse("{{ .Cert }}{{ .Key }}{{ .Data.CA }}")).Execute(&b, pems)
	if !strings.Contains(b.String(), "-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\n") ||
		!strings.HasSuffix(b.String(), "-----END CERTIFICATE-----\n") {
		t.Fatal("{{ .Cert }}{{ .Key }}{{ .CA }} is not a bundle of whole PEM blocks")
	}
	// The same blocks in one field (format=pem_bundle) give the same fields.
	bundle := map[string]any{"certificate": data["certificate"].(string) + "\n" + data["private_key"].(string) + "\n" + p.intPEM}
	if b2, _, err := pemsFromData(bundle); err != nil || b2.Cert != pems.Cert || b2.Key != pems.Key || b2.CA != pems.CA {
		t.Fatalf("pem_bundle: %v", err)
	}
	// A certificate block that does not parse is an error, as in Vault Agent.
	if _, _, err := pemsFromData(map[string]any{"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}); err == nil {
		t.Fatal("a broken certificate gave no error")
	}
	// No certificate at all (a write that is not an issue call): empty fields.
	if e, leaf, err := pemsFromData(map[string]any{"value": "x"}); err != nil || leaf != nil || e.Cert != "" {
		t.Fatal("data without PEM must give empty fields")
	}
}

// A certificate at the destination is reused only when it is whole (with
// its key), before its renewal point.
func TestReusableCert(t *testing.T) {
	p := newTestPKI(t)
	now := time.Now()
	bundle := func(d map[string]any) string {
		e, _, err := pemsFromData(d)
		if err != nil {
			t.Fatal(err)
		}
		return e.Cert + e.CA + e.Key
	}
	fresh := p.issue("a.example.com", now.Add(-time.Minute), now.Add(time.Hour))
	late := p.issue("a.example.com", now.Add(-55*time.Minute), now.Add(5*time.Minute))
	expired := p.issue("a.example.com", now.Add(-2*time.Hour), now.Add(-time.Hour))
	other := p.issue("a.example.com", now.Add(-time.Minute), now.Add(time.Hour))
	cases := []struct {
		name      string
		content   string
		threshold float64
		reuse     bool
	}{
		{"fresh bundle", bundle(fresh), 0.9, true},
		{"fresh bundle with text around it", "Certificate: " + fresh["certificate"].(string) + "\nKey: " + fresh["private_key"].(string) + "\n", 0.9, true},
		{"blocks with no newline between them", fresh["certificate"].(string) + fresh["private_key"].(string), 0.9, true},
		{"threshold 0 is the default", bundle(fresh), 0, true},
		{"past the renewal point", bundle(late), 0.9, false},
		{"a low threshold", bundle(fresh), 0.001, false},
		{"expired", bundle(expired), 0.9, false},
		{"certificate without its key", fresh["certificate"].(string) + "\n", 0.9, false},
		{"key of another certificate", fresh["certificate"].(string) + "\n" + other["private_key"].(string) + "\n", 0.9, false},
		{"key only", fresh["private_key"].(string) + "\n", 0.9, false},
		{"garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0.9, false},
		{"empty", "", 0.9, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, nb, na, ok := reusableCert([]byte(c.content), now, c.threshold)
			if ok != c.reuse {
				t.Fatalf("reuse %v, want %v", ok, c.reuse)
			}
			if !ok {
				return
			}
			// The store gets Vault's shape back, and pkiCert the same fields.
			if data["certificate"] != fresh["certificate"] || data["private_key"] != fresh["private_key"] ||
				data["serial_number"] != fresh["serial_number"] || data["expiration"] != fresh["expiration"] ||
				data["private_key_type"] != "ec" {
				t.Fatal("the rebuilt issue data differs from Vault's")
			}
			if !nb.Equal(now.Add(-time.Minute).Truncate(time.Second)) || !na.Equal(now.Add(time.Hour).Truncate(time.Second)) {
				t.Fatalf("validity %v..%v", nb, na)
			}
		})
	}
}

// reusableCert is what reuseCert decides from a destination's content:
// the certificate and key it holds (certPair), if now is before the
// certificate's renewal point, threshold of its validity
// (lease_renewal_threshold), as Vault Agent decides.
func reusableCert(content []byte, now time.Time, threshold float64) (data map[string]any, notBefore, notAfter time.Time, ok bool) {
	data, notBefore, notAfter, ok = certPair(content)
	if !ok || !now.Before(renewalPoint(notBefore, notAfter, threshold)) {
		return nil, time.Time{}, time.Time{}, false
	}
	return data, notBefore, notAfter, true
}
