package differential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"
)

// issued is one fake issue response: what Vault Agent's pkiCert gives a
// template (each PEM ends with a newline), plus the per-request values.
type issued struct {
	Cert, Key, CA, Serial, Username, Password string
}

// fakePKI makes a CA and issues leaves from it, as Vault's PKI engine
// would: a new key and serial each time, the same CA.
type fakePKI struct {
	t      *testing.T
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  string
	serial int64
}

func newFakePKI(t *testing.T) *fakePKI {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Intermediate CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return &fakePKI{t: t, ca: ca, caKey: key, caPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), serial: 100}
}

func (f *fakePKI) issue(cn, username, password string) issued {
	f.serial++
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(f.serial * 7919), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, &key.PublicKey, f.caKey)
	if err != nil {
		f.t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	var serial []string
	for _, b := range big.NewInt(f.serial * 7919).FillBytes(make([]byte, 20)) {
		serial = append(serial, fmt.Sprintf("%02x", b))
	}
	return issued{
		Cert:     string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:      string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
		CA:       f.caPEM,
		Serial:   strings.Join(serial, ":"),
		Username: username,
		Password: password,
	}
}

// renderTree executes tpl with each value into dir/<name>.
func renderTree(t *testing.T, files map[string]string, v issued) map[string]rendered {
	dir := t.TempDir()
	for name, text := range files {
		var b strings.Builder
		chomp := func(s string) string { return strings.TrimSuffix(s, "\n") }
		tpl := template.Must(template.New(name).Funcs(template.FuncMap{"chomp": chomp}).Parse(text))
		if err := tpl.Execute(&b, v); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := readTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// The comparison ignores what Vault makes anew per request and catches a
// one-byte difference anywhere else: a deliberately broken template (one
// space more, a newline less, the key of another certificate) fails it.
func TestComparisonCatchesOneByte(t *testing.T) {
	pki := newFakePKI(t)
	good := map[string]string{
		"bundle.pem": "{{ .Cert }}{{ .Key }}{{ .CA }}",
		"db.env":     "PGUSER={{ .Username }}\nPGPASSWORD={{ .Password }}\nserial={{ .Serial }}\n",
		"cert.pem":   "{{ .Cert }}",
		"key.pem":    "{{ .Key }}",
	}
	// Vault Agent's run and rotor's run get different certificates, keys,
	// users and passwords, as they do from a real Vault.
	agent := pki.issue("api.example.com", "v-approle-myapp-re-AbCdEfGhIjKlMnOpQrSt-1764152400", "A1b2-C3d4E5f6G7h8I9j")
	rotor := pki.issue("api.example.com", "v-approle-myapp-re-ZyXwVuTsRqPoNmLkJiHg-1764152401", "Zz9y-X8w7V6u5T4s3R2q")
	want := renderTree(t, good, agent)
	if d := compareTrees(want, renderTree(t, good, rotor)); len(d) != 0 {
		t.Fatalf("the same templates differ after masking:\n%s", strings.Join(d, "\n"))
	}
	other := pki.issue("api.example.com", "", "")
	broken := []struct {
		name  string
		file  string
		tpl   string
		v     issued
		match string
	}{
		{"one space more", "bundle.pem", "{{ .Cert }} {{ .Key }}{{ .CA }}", rotor, "bundle.pem: line 2 differs"},
		{"no newline between blocks", "bundle.pem", "{{ chomp .Cert }}{{ .Key }}{{ .CA }}", rotor, "bundle.pem: line 1 differs"},
		{"no final newline", "key.pem", "{{ chomp .Key }}", rotor, "key.pem: only the final newline differs"},
		{"one letter of text", "db.env", "PGUSER={{ .Username }}\nPGPASSWORD={{ .Password }}\nSerial={{ .Serial }}\n", rotor, "line 3 differs"},
		{"a password of another shape", "db.env", "PGUSER={{ .Username }}\nPGPASSWORD={{ .Password }}x\nserial={{ .Serial }}\n", rotor, "line 2 differs"},
		{"the key of another certificate", "key.pem", "{{ .Key }}", other, "rotor: key.pem: the private key matches no certificate"},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range good {
				files[k] = v
			}
			files[b.file] = b.tpl
			got := renderTree(t, files, rotor)
			if b.v != rotor { // a file rendered from another issue call
				got[b.file] = renderTree(t, map[string]string{b.file: b.tpl}, b.v)[b.file]
			}
			d := compareTrees(want, got)
			if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), b.match) {
				t.Fatalf("want a difference matching %q, got:\n%s", b.match, strings.Join(d, "\n"))
			}
			for _, s := range []string{rotor.Password, rotor.Username, agent.Password} {
				if strings.Contains(strings.Join(d, "\n"), s) {
					t.Fatal("the report shows a secret")
				}
			}
		})
	}
	// A mode is part of the file.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "key.pem"), []byte(rotor.Key), 0o600)
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(rotor.Cert), 0o644)
	tree, _ := readTree(dir)
	w := map[string]rendered{"key.pem": want["key.pem"], "cert.pem": want["cert.pem"]}
	if d := compareTrees(w, tree); len(d) != 1 || !strings.Contains(d[0], "mode 0600, Vault Agent's 0644") {
		t.Fatalf("a mode difference: %q", d)
	}
}
