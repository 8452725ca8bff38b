package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// cfFixture is a Diego-like instance identity: a root CA (what Vault's cf
// config trusts), an intermediate CA, and the instance's certificate (CN
// the instance ID; OUs organization:, space:, app:; its IP as the only
// SAN) with its RSA key in PKCS#1. The certificate file holds the
// identity certificate then the intermediate, as CF_INSTANCE_CERT does.
type cfFixture struct {
	caFile, certFile, keyFile string
}

func newCFFixture(t *testing.T) cfFixture {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "diego-root"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	intKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	intTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "instanceIdentityCA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	intDER, err := x509.CreateCertificate(rand.Reader, intTmpl, ca, &intKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(intDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		Subject: pkix.Name{CommonName: "f7d1a3e2-5b1c-4a3e-9d6b-0c1d2e3f4a5b", OrganizationalUnit: []string{
			"organization:34a878d0-c2f9-4521-ba73-a9f664e82c7bf", "space:3d2eba6b-ef19-44d5-91dd-1975b0db5cc9", "app:2d3e834a-3a25-4591-974c-fa5626d5d0a1"}},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	idDER, err := x509.CreateCertificate(rand.Reader, idTmpl, inter, &key.PublicKey, intKey)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	return cfFixture{
		caFile:   writeTestFile(t, dir, "ca.pem", pemOf("CERTIFICATE", caDER)),
		certFile: writeTestFile(t, dir, "instance.crt", pemOf("CERTIFICATE", idDER)+pemOf("CERTIFICATE", intDER)),
		keyFile:  writeTestFile(t, dir, "instance.key", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))),
	}
}

// verifyCFBody checks a cf login body with the cf plugin's own code
// (authcheck verify-cf: signature, chain to the CA, identity fields).
func verifyCFBody(t *testing.T, f cfFixture, body map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	p := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := authcheckVerify(t, "cf", p, f.caFile); err != nil {
		t.Fatalf("the cf plugin refuses the login: %v", err)
	}
}

// rotor's cf login has Vault Agent's shape (path, fields, role,
// certificate file, time format), and the cf plugin's own verification
// accepts both signatures (RSA-PSS is randomised, so they differ). The
// certificate and key come from CF_INSTANCE_CERT and CF_INSTANCE_KEY, or
// from rotor's cf_instance_cert and cf_instance_key. A body signed for
// another role, or with the signature of another time, is refused: the
// verification can fail.
func TestCFMatchesVaultAgent(t *testing.T) {
	rec := newRecorder(t)
	f := newCFFixture(t)
	env := []string{"CF_INSTANCE_CERT=" + f.certFile, "CF_INSTANCE_KEY=" + f.keyFile}
	for _, mount := range []string{"auth/cf", "auth/pcf"} {
		va := vaultAgentLogin(t, env, "cf", map[string]any{"role": "web"}, mount, rec.URL)
		verifyCFBody(t, f, va.Body)

		m, _ := newCF(mount, CFOptions{Role: "web"})
		m.(*cf).env = envFunc(env)
		ro := rec.login(t, m)
		verifyCFBody(t, f, ro.Body)
		keys := func(m map[string]any) []string {
			var k []string
			for x := range m {
				k = append(k, x)
			}
			slices.Sort(k)
			return k
		}
		if ro.Path != va.Path || ro.Path != mount+"/login" || !reflect.DeepEqual(keys(ro.Body), keys(va.Body)) ||
			ro.Body["role"] != va.Body["role"] || ro.Body["cf_instance_cert"] != va.Body["cf_instance_cert"] {
			t.Fatalf("rotor sent %s %v\nVault Agent %s %v", ro.Path, keys(ro.Body), va.Path, keys(va.Body))
		}
		for _, b := range []map[string]any{ro.Body, va.Body} {
			if _, err := time.Parse(cfTimeFormat, b["signing_time"].(string)); err != nil {
				t.Fatalf("signing_time: %v", err)
			}
		}

		forged := map[string]any{}
		for k, v := range ro.Body {
			forged[k] = v
		}
		forged["role"] = "admin"
		if err := authcheckVerify(t, "cf", writeJSON(t, forged), f.caFile); err == nil {
			t.Fatal("a signature for role web verified for role admin")
		}
	}

	// The config keys instead of the environment.
	m, _ := newCF("auth/cf", CFOptions{Role: "web", InstanceCert: f.certFile, InstanceKey: f.keyFile})
	m.(*cf).env = envFunc(nil)
	verifyCFBody(t, f, rec.login(t, m).Body)

	// Neither: a credentials error naming the variable.
	m, _ = newCF("auth/cf", CFOptions{Role: "web"})
	m.(*cf).env = envFunc(nil)
	if _, err := m.Login(t.Context(), rec.client(t)); err == nil || !containsAll(err.Error(), "CF_INSTANCE_CERT", "cf_instance_cert") {
		t.Fatalf("got %v", err)
	}
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	p := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
