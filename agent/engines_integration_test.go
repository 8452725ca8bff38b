package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/awstest"
	"github.com/rotorproject/rotor/test/harness/nginxtest"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

var credLine = regexp.MustCompile(`(?m)^(\w+)=(.*)$`)

// creds parses key=value lines.
func creds(s string) map[string]string {
	m := map[string]string{}
	for _, g := range credLine.FindAllStringSubmatch(s, -1) {
		m[g[1]] = g[2]
	}
	return m
}

func TestDatabaseCredentialsRenewAndRotateBeforeExpiry(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	// 6s leases renewed up to a 20s max TTL: renewals first, then a new
	// user before the old one's max TTL ends.
	pgtest.SetupVaultDatabase(t, root, pg, "6s", "20s")
	dir := t.TempDir()
	out, reloads := filepath.Join(dir, "db.env"), filepath.Join(dir, "reloads")
	r := startAgent(t, srv, appRoleAuth(t, root, `path "database/creds/myapp-readonly" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = <<EOT
{{ with secret "database/creds/myapp-readonly" }}username={{ .Data.username }}
password={{ .Data.password }}
{{ end }}
EOT
  destination = %q
  perms       = "0600"
  exec {
    command = ["sh", "-c", "echo reload >> %s"]
    timeout = "5s"
  }
}`, out, reloads))
	first := creds(waitContent(t, out, func(s string) bool { return strings.Contains(s, "password=") }, 30*time.Second))
	issued := time.Now()
	if err := pg.CanSelect(first["username"], first["password"], pgtest.ItemsTable); err != nil {
		t.Fatalf("rendered credentials cannot SELECT: %v", err)
	}
	var second map[string]string
	vaulttest.Eventually(t, 30*time.Second, func() error {
		second = creds(readFile(t, out))
		if second["username"] == first["username"] {
			return errors.New("not rotated yet")
		}
		return nil
	})
	if time.Since(issued) > 20*time.Second {
		t.Fatalf("new credentials rendered %v after issue: after the 20s max TTL", time.Since(issued))
	}
	if !strings.Contains(r.logs.String(), "lease renewed") {
		t.Fatal("the lease was never renewed before rotation")
	}
	if err := pg.CanSelect(second["username"], second["password"], pgtest.ItemsTable); err != nil {
		t.Fatalf("new credentials cannot SELECT: %v", err)
	}
	waitContent(t, reloads, func(s string) bool { return s == "reload\nreload\n" }, 5*time.Second)
	// Vault drops the first user when its max TTL ends.
	vaulttest.Eventually(t, 30*time.Second, func() error {
		for _, u := range pg.Roles(t, "v-") {
			if u == first["username"] {
				return errors.New("first user still exists")
			}
		}
		return nil
	})
}

func TestStaticRolePasswordFollowsRotation(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "1h", "24h")
	pgtest.SetupStaticRole(t, root, pg, "legacy-app", "legacy_app_user", "1h")
	dir := t.TempDir()
	out := filepath.Join(dir, "legacy.env")
	startAgent(t, srv, appRoleAuth(t, root, `path "database/static-creds/legacy-app" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template_config {
  static_secret_render_interval = "1s"
}
template {
  contents    = "{{ with secret \"database/static-creds/legacy-app\" }}username={{ .Data.username }}\npassword={{ .Data.password }}\n{{ end }}"
  destination = %q
}`, out))
	first := creds(waitContent(t, out, func(s string) bool { return strings.Contains(s, "password=") }, 30*time.Second))
	if err := pg.CanSelect("legacy_app_user", first["password"], pgtest.ItemsTable); err != nil {
		t.Fatalf("rendered static password does not work: %v", err)
	}
	if _, err := root.Logical().Write("database/rotate-role/legacy-app", nil); err != nil {
		t.Fatal(err)
	}
	second := creds(waitContent(t, out, func(s string) bool { return creds(s)["password"] != first["password"] }, 15*time.Second))
	if err := pg.CanSelect("legacy_app_user", second["password"], pgtest.ItemsTable); err != nil {
		t.Fatalf("rotated password does not work: %v", err)
	}
}

func TestNginxServesRotatedCertificate(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.SetupPKI(t, root, "720h", nil)
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	nginxtest.WriteSelfSigned(t, crt, key)
	ngx := nginxtest.Start(t, crt, key)
	argv := fmt.Sprintf("%q", ngx.ReloadCommand())
	argv = strings.ReplaceAll(strings.Trim(argv, "[]"), "\" \"", "\", \"")
	startAgent(t, srv, appRoleAuth(t, root, pkiPolicy, nil)+fmt.Sprintf(`
template {
  contents    = %q
  destination = %q
  exec { command = [%s] }
}
template {
  contents    = %q
  destination = %q
  perms       = "0600"
  exec { command = [%s] }
}`, fmt.Sprintf(certTpl, "20s"), crt, argv, fmt.Sprintf(keyTpl, "20s"), key, argv))
	var first string
	vaulttest.Eventually(t, 20*time.Second, func() error {
		served := ngx.ServedCert(t)
		if served.Subject.CommonName != "api.internal.example.com" {
			return fmt.Errorf("nginx serves %q", served.Subject.CommonName)
		}
		first = served.SerialNumber.String()
		return nil
	})
	if first != leafSerial(t, crt) {
		t.Fatal("served serial differs from the rendered file")
	}
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if s := ngx.ServedCert(t).SerialNumber.String(); s == first {
			return errors.New("nginx still serves the first certificate")
		}
		return nil
	})
	if err := keyMatches(crt, key); err != nil {
		t.Fatal(err)
	}
}

func TestAWSCredentialsFile(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	fake := awstest.Start(t)
	awstest.SetupVaultAWS(t, root, fake, awstest.WithLease("6s", "15s"))
	dir := t.TempDir()
	out := filepath.Join(dir, "credentials")
	startAgent(t, srv, appRoleAuth(t, root, `
path "aws/creds/s3-readonly" { capabilities = ["read"] }
path "aws/creds/deploy-role" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = <<EOT
[default]
{{ with secret "aws/creds/s3-readonly" }}aws_access_key_id = {{ .Data.access_key }}
aws_secret_access_key = {{ .Data.secret_key }}
{{ end }}
[deploy]
{{ with secret "aws/creds/deploy-role" }}aws_access_key_id = {{ .Data.access_key }}
aws_secret_access_key = {{ .Data.secret_key }}
aws_session_token = {{ .Data.security_token }}
{{ end }}
EOT
  destination = %q
  perms       = "0600"
}`, out))
	keyOf := regexp.MustCompile(`\[default\]\naws_access_key_id = (\S+)`)
	content := waitContent(t, out, func(s string) bool { return strings.Contains(s, "aws_session_token = ") }, 30*time.Second)
	first := keyOf.FindStringSubmatch(content)
	if first == nil {
		t.Fatalf("no iam_user key in:\n%s", content)
	}
	issued := time.Now()
	// The iam_user lease is renewed (6s) until its 15s max, then replaced
	// by a new IAM user before it ends.
	vaulttest.Eventually(t, 30*time.Second, func() error {
		m := keyOf.FindStringSubmatch(readFile(t, out))
		if m == nil || m[1] == first[1] {
			return errors.New("iam_user key not replaced yet")
		}
		return nil
	})
	if time.Since(issued) > 15*time.Second {
		t.Fatalf("replaced after %v, past the 15s max TTL", time.Since(issued))
	}
	live := strings.Join(fake.AccessKeys(), " ")
	if m := keyOf.FindStringSubmatch(readFile(t, out)); !strings.Contains(live, m[1]) {
		t.Fatal("the rendered key is not live at the fake IAM")
	}
	// The STS credentials (non-renewable, 1h) are not re-issued meanwhile.
	if n := len(fake.Sessions()); n != 1 {
		t.Fatalf("%d STS sessions, want 1: a non-renewable lease far from expiry must not be re-issued", n)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
}

func TestNewLoginReissuesOnlyTokenBoundSecrets(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "1h", "24h")
	vaulttest.SetupPKI(t, root, "720h", nil)
	dir := t.TempDir()
	db, crt := filepath.Join(dir, "db.env"), filepath.Join(dir, "server.crt")
	// The token lives at most 9s; the DB lease would live 1h but dies
	// with the token that created it. The certificate has no lease.
	start := time.Now()
	r := startAgent(t, srv, appRoleAuth(t, root, pkiPolicy+`path "database/creds/myapp-readonly" { capabilities = ["read"] }`,
		map[string]any{"token_ttl": "3s", "token_max_ttl": "9s"})+fmt.Sprintf(`
template {
  contents    = "{{ with secret \"database/creds/myapp-readonly\" }}username={{ .Data.username }}\npassword={{ .Data.password }}\n{{ end }}"
  destination = %q
}
template {
  contents    = %q
  destination = %q
}`, db, fmt.Sprintf(certTpl, "1h"), crt))
	first := creds(waitContent(t, db, func(s string) bool { return strings.Contains(s, "password=") }, 30*time.Second))
	serial := leafSerial(t, crt)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if creds(readFile(t, db))["username"] == first["username"] {
			return errors.New("DB credentials not re-fetched yet")
		}
		return nil
	})
	if el := time.Since(start); el > 9*time.Second {
		t.Fatalf("DB credentials replaced %v after start: after the first token (and its lease) died", el)
	}
	if n := strings.Count(r.logs.String(), "msg=authenticated"); n < 2 {
		t.Fatalf("%d logins; the DB credentials must be replaced because of the new login", n)
	}
	if leafSerial(t, crt) != serial {
		t.Fatal("a new login re-issued the certificate, whose validity does not depend on the token")
	}
	second := creds(readFile(t, db))
	if err := pg.CanSelect(second["username"], second["password"], pgtest.ItemsTable); err != nil {
		t.Fatalf("new credentials: %v", err)
	}
}
