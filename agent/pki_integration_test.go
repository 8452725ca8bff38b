package agent

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

const pkiPolicy = `
path "pki_int/issue/web-servers" { capabilities = ["create", "update"] }
`

// The seed article's Vault Agent templates, unchanged apart from the TTL.
const certTpl = `{{- with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=%s" -}}
{{ .Data.certificate }}
{{ .Data.ca_chain }}
{{- end -}}`

const keyTpl = `{{- with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=%s" -}}
{{ .Data.private_key }}
{{- end -}}`

func leafSerial(t *testing.T, certFile string) string {
	t.Helper()
	b, _ := pem.Decode([]byte(readFile(t, certFile)))
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", certFile, err)
	}
	return c.SerialNumber.String()
}

// keyMatches loads the pair as a TLS server would.
func keyMatches(certFile, keyFile string) error {
	_, err := tls.LoadX509KeyPair(certFile, keyFile)
	return err
}

func TestPKICertAndKeyRotateTogetherWithOneReload(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.SetupPKI(t, root, "720h", nil)
	dir := t.TempDir()
	tplDir := filepath.Join(dir, "templates")
	os.MkdirAll(tplDir, 0o755)
	certSrc := writeFile(t, tplDir, "cert.tpl", fmt.Sprintf(certTpl, "20s"))
	keySrc := writeFile(t, tplDir, "key.tpl", fmt.Sprintf(keyTpl, "20s"))
	crt, key, reloads := filepath.Join(dir, "tls", "server.crt"), filepath.Join(dir, "tls", "server.key"), filepath.Join(dir, "reloads")
	r := startAgent(t, srv, appRoleAuth(t, root, pkiPolicy, nil)+fmt.Sprintf(`
template {
  source      = %q
  destination = %q
  perms       = "0644"
  command     = "echo reload >> %s"
}
template {
  source      = %q
  destination = %q
  perms       = "0600"
  command     = "echo reload >> %s"
}`, certSrc, crt, reloads, keySrc, key, reloads))
	waitContent(t, reloads, func(s string) bool { return s == "reload\n" }, 20*time.Second)
	if err := keyMatches(crt, key); err != nil {
		t.Fatalf("first render: %v", err)
	}
	first := leafSerial(t, crt)
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode().Perm())
	}
	// 20s TTL + Vault's 30s backdating: rotation at 80-90% of 50s, i.e.
	// 10-15s after issue, well before the certificate expires.
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if s := leafSerial(t, crt); s == first {
			return fmt.Errorf("not rotated yet")
		}
		return nil
	})
	waitContent(t, reloads, func(s string) bool { return s == "reload\nreload\n" }, 5*time.Second)
	if err := keyMatches(crt, key); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := strings.Count(r.logs.String(), "msg=authenticated"); n != 1 {
		t.Fatalf("rotation must not log in again; %d logins", n)
	}
}

func TestMismatchedCertAndKeyAreNotPublished(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.SetupPKI(t, root, "720h", nil)
	dir := t.TempDir()
	crt, key, reloads := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "reloads")
	// Two different issue calls (different common names): the key does
	// not belong to the certificate. No peer tool notices this.
	r := startAgent(t, srv, appRoleAuth(t, root, pkiPolicy, nil)+fmt.Sprintf(`
template {
  contents    = "{{ with secret \"pki_int/issue/web-servers\" \"common_name=a.example.com\" }}{{ .Data.certificate }}{{ end }}"
  destination = %q
  command     = "echo reload >> %s"
}
template {
  contents    = "{{ with secret \"pki_int/issue/web-servers\" \"common_name=b.example.com\" }}{{ .Data.private_key }}{{ end }}"
  destination = %q
  command     = "echo reload >> %s"
}`, crt, reloads, key, reloads))
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "the private key does not match the certificate") {
			return fmt.Errorf("mismatch not reported")
		}
		return nil
	})
	for _, p := range []string{crt, key, reloads} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s was written despite the mismatch", p)
		}
	}
}
