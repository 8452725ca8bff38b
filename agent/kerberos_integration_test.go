package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/krbtest"
	"github.com/rotorproject/rotor/test/harness/ldaptest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// kerberosRealm is a KDC with Vault's service principal HTTP/localhost and
// a user, and an LDAP directory holding the user in a group, behind
// Vault's kerberos auth method at auth/kerberos (the group "krb-readers"
// gives the policy "krb-reader").
type kerberosRealm struct {
	kdc *krbtest.KDC
}

func setupKerberos(t *testing.T, srv *vaulttest.Server, user string) *kerberosRealm {
	t.Helper()
	kdc := krbtest.Start(t)
	slapd := ldaptest.Start(t)
	// MIT's KDC (1.20 and later) puts a PAC without Active Directory's
	// logon information in service tickets, which Vault's kerberos method
	// (gokrb5) refuses as "defective": Vault's service principal is told
	// to get none, as an MIT realm serving Vault must do.
	kdc.AddPrincipal(t, "HTTP/localhost", "+no_auth_data_required")
	kdc.AddPrincipal(t, user)
	slapd.AddUser(t, user, "unused-"+user+"-password")
	slapd.AddGroup(t, "krb-readers", user)

	root := srv.Client(t)
	if err := root.Sys().EnableAuthWithOptions("kerberos", &api.EnableAuthOptions{Type: "kerberos",
		Config: api.AuthConfigInput{PassthroughRequestHeaders: []string{"Authorization"}, AllowedResponseHeaders: []string{"www-authenticate"}}}); err != nil {
		t.Fatal(err)
	}
	vt, err := os.ReadFile(kdc.Keytab(t, "HTTP/localhost"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/kerberos/config", map[string]any{
		"keytab": base64.StdEncoding.EncodeToString(vt), "service_account": "HTTP/localhost"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/kerberos/config/ldap", map[string]any{
		"url": slapd.URL, "binddn": ldaptest.AdminDN, "bindpass": slapd.AdminPassword,
		"userdn": ldaptest.UsersDN, "userattr": "uid", "groupdn": ldaptest.GroupsDN, "groupattr": "cn",
		"groupfilter": "(&(objectClass=groupOfNames)(member={{.UserDN}}))", "token_ttl": "1h"}); err != nil {
		t.Fatal(err)
	}
	vaulttest.WritePolicy(t, root, "krb-reader", `path "secret/data/app" { capabilities = ["read"] }`)
	if _, err := root.Logical().Write("auth/kerberos/groups/krb-readers", map[string]any{"policies": "krb-reader"}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("secret/data/app", map[string]any{"data": map[string]any{"user": "krb-app"}}); err != nil {
		t.Fatal(err)
	}
	return &kerberosRealm{kdc: kdc}
}

func kerberosConfig(user, keytab, krb5conf, sink, extra string) string {
	return fmt.Sprintf(`
auto_auth {
  method "kerberos" {
    min_backoff = "100ms"
    config = {
      username      = %q
      service       = "HTTP/localhost"
      realm         = %q
      keytab_path   = %q
      krb5conf_path = %q
      %s
    }
  }
  sink "file" { config = { path = %q } }
}`, user, krbtest.Realm, keytab, krb5conf, extra, sink)
}

// The kerberos method end to end: a real MIT KDC issues the tickets, a
// real Vault's kerberos auth method checks the SPNEGO token with its own
// keytab and finds the user's group in a real slapd. rotor's token has
// the group's policy and reads what it allows through a template.
func TestKerberosLoginAgainstRealKDC(t *testing.T) {
	srv := vaulttest.Start(t)
	realm := setupKerberos(t, srv, "alice")
	dir := t.TempDir()
	sink, out := filepath.Join(dir, "token"), filepath.Join(dir, "out.txt")
	kt := realm.kdc.Keytab(t, "alice")
	startAgent(t, srv, kerberosConfig("alice", kt, realm.kdc.Krb5Conf, sink, "")+fmt.Sprintf(`
template {
  contents    = "{{ with secret \"secret/data/app\" }}{{ .Data.data.user }}{{ end }}"
  destination = %q
}`, out))
	tok := checkSinkToken(t, srv, sink, 0o640)
	look := vaulttest.TokenLookup(t, srv.Client(t), tok)
	if !strings.Contains(fmt.Sprint(look["policies"]), "krb-reader") {
		t.Fatalf("policies %v, want krb-reader from the LDAP group", look["policies"])
	}
	vaulttest.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if string(b) != "krb-app" {
			return fmt.Errorf("rendered %q", b)
		}
		return nil
	})
}

// FAST off (disable_fast_negotiation) logs in too, and a keytab whose key
// the KDC no longer has (the principal re-keyed) fails with the KDC's
// reason until a fresh keytab is written, which is used at once.
func TestKerberosFASTOffAndRekeyedKeytab(t *testing.T) {
	srv := vaulttest.Start(t)
	realm := setupKerberos(t, srv, "bob")
	dir := t.TempDir()
	sink := filepath.Join(dir, "token")
	kt := filepath.Join(dir, "bob.keytab")
	old, err := os.ReadFile(realm.kdc.Keytab(t, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	realm.kdc.Rekey(t, "bob")
	if err := os.WriteFile(kt, old, 0o600); err != nil {
		t.Fatal(err)
	}
	r := startAgent(t, srv, strings.Replace(kerberosConfig("bob", kt, realm.kdc.Krb5Conf, sink, "disable_fast_negotiation = true"),
		`min_backoff = "100ms"`, `min_backoff = "2m"`+"\n    max_backoff = \"5m\"", 1))
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "login failed") {
			return errors.New("no failed login yet")
		}
		return nil
	})
	if logs := r.logs.String(); !strings.Contains(logs, "log in to the KDC as bob@"+krbtest.Realm) {
		t.Fatalf("the failure should say the KDC refused bob:\n%s", logs)
	}
	fresh, err := os.ReadFile(realm.kdc.Keytab(t, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kt+".new", fresh, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(kt+".new", kt); err != nil {
		t.Fatal(err)
	}
	checkSinkToken(t, srv, sink, 0o640)
}
