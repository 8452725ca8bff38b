package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/test/harness/ldaptest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// setupLDAPAuth enables Vault's ldap auth method at auth/ldap against s:
// users under ou=users by uid, groups (groupOfNames) under ou=groups, and
// the group "readers" mapped to the policy "ldap-reader", which may read
// secret/data/app. Tokens live ttl (renewable).
func setupLDAPAuth(t *testing.T, srv *vaulttest.Server, s *ldaptest.Server, ttl string) {
	t.Helper()
	root := srv.Client(t)
	vaulttest.EnableAuth(t, root, "ldap", "ldap")
	if _, err := root.Logical().Write("auth/ldap/config", map[string]any{
		"url": s.URL, "binddn": ldaptest.AdminDN, "bindpass": s.AdminPassword,
		"userdn": ldaptest.UsersDN, "userattr": "uid",
		"groupdn": ldaptest.GroupsDN, "groupattr": "cn",
		"groupfilter": "(&(objectClass=groupOfNames)(member={{.UserDN}}))",
		"token_ttl":   ttl,
	}); err != nil {
		t.Fatal(err)
	}
	vaulttest.WritePolicy(t, root, "ldap-reader", `path "secret/data/app" { capabilities = ["read"] }`)
	if _, err := root.Logical().Write("auth/ldap/groups/readers", map[string]any{"policies": "ldap-reader"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/app", map[string]any{"data": map[string]any{"user": "alice-app"}}); err != nil {
		t.Fatal(err)
	}
}

// The ldap method against a real slapd behind a real Vault: rotor logs in
// as alice with the password file, renders a template with what her LDAP
// group's policy allows, removes the file after reading it, and after the
// password is changed in LDAP and a new file written, the next login (the
// token revoked from outside) uses the new password. Neither password
// ever reaches rotor's logs.
func TestLDAPLoginRotationAndTemplate(t *testing.T) {
	slapd := ldaptest.Start(t)
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	setupLDAPAuth(t, srv, slapd, "4s")
	pw1, pw2 := "first-Passw0rd-for-alice", "second-Passw0rd-for-alice"
	slapd.AddUser(t, "alice", pw1)
	slapd.AddGroup(t, "readers", "alice")

	dir := t.TempDir()
	pwFile := writeFile(t, dir, "password", pw1)
	sink, out := filepath.Join(dir, "token"), filepath.Join(dir, "out.txt")
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "ldap" {
    min_backoff = "100ms"
    config = {
      username           = "alice"
      password_file_path = %q
    }
  }
  sink "file" { config = { path = %q } }
}
template {
  contents    = <<EOT
{{ with secret "sys/capabilities-self" "paths=secret/data/app" }}{{ index .Data "secret/data/app" }}{{ end }} {{ with secret "secret/data/app" }}{{ .Data.data.user }}{{ end }}
EOT
  destination = %q
}`, pwFile, sink, out))
	tok := checkSinkToken(t, srv, sink, 0o640)
	vaulttest.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(string(b)); got != "[read] alice-app" {
			return fmt.Errorf("rendered %q", got)
		}
		return nil
	})
	look := vaulttest.TokenLookup(t, root, tok)
	if meta, _ := look["meta"].(map[string]any); meta["username"] != "alice" {
		t.Fatalf("the token is not alice's: meta %v", look["meta"])
	}
	if _, err := os.Stat(pwFile); !os.IsNotExist(err) {
		t.Fatalf("the password file is still there after reading (remove_password_after_reading defaults to true): %v", err)
	}

	// Rotation: LDAP takes only the new password now; the file holds it.
	slapd.SetPassword(t, "alice", pw2)
	writeFile(t, dir, "password", pw2)
	vaulttest.RevokeToken(t, root, tok)
	var tok2 string
	vaulttest.Eventually(t, 30*time.Second, func() error {
		tok2 = readSink(t, sink)
		if tok2 == tok {
			return errors.New("no new token yet")
		}
		return nil
	})
	checkSinkToken(t, srv, sink, 0o640)
	if _, err := os.Stat(pwFile); !os.IsNotExist(err) {
		t.Fatalf("the new password file was not read (and removed): %v", err)
	}

	logs := r.logs.String()
	if !strings.Contains(logs, "authenticated") {
		t.Fatalf("no login logged:\n%s", logs)
	}
	for name, v := range map[string]string{"first password": pw1, "second password": pw2} {
		for i := 0; i+redact.Window <= len(v); i++ {
			if strings.Contains(logs, v[i:i+redact.Window]) {
				t.Fatalf("the %s appears in the logs:\n%s", name, logs)
			}
		}
	}
}

// A wrong password is refused by Vault (LDAP bind fails), the error names
// the login path and never the password, and a corrected file is used at
// once, without waiting out the backoff.
func TestLDAPWrongPasswordThenFixed(t *testing.T) {
	slapd := ldaptest.Start(t)
	srv := vaulttest.Start(t)
	setupLDAPAuth(t, srv, slapd, "1h")
	good := "the-Right-passw0rd-bob"
	slapd.AddUser(t, "bob", good)
	slapd.AddGroup(t, "readers", "bob")
	dir := t.TempDir()
	bad := "the-Wrong-passw0rd-bob"
	pwFile := writeFile(t, dir, "password", bad)
	sink := filepath.Join(dir, "token")
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "ldap" {
    min_backoff = "2m"
    max_backoff = "5m"
    config = {
      username           = "bob"
      password_file_path = %q
      remove_password_after_reading = false
    }
  }
  sink "file" { config = { path = %q } }
}`, pwFile, sink))
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "login failed") {
			return errors.New("no failed login yet")
		}
		return nil
	})
	if logs := r.logs.String(); !strings.Contains(logs, "auth/ldap/login/bob") || strings.Contains(logs, bad) {
		t.Fatalf("the failure should name the login path and not the password:\n%s", logs)
	}
	writeFile(t, dir, "password", good)
	checkSinkToken(t, srv, sink, 0o640)
	if _, err := os.Stat(pwFile); err != nil {
		t.Fatalf("remove_password_after_reading = false removed the file: %v", err)
	}
	if strings.Contains(r.logs.String(), good) {
		t.Fatal("the password appears in the logs")
	}
}
