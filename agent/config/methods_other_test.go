package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// methodConfig is an auto_auth block with one method and a sink.
func methodConfig(typ, body string) string {
	return "auto_auth {\n  method \"" + typ + "\" {\n    config = {\n" + body + "\n    }\n  }\n  sink \"file\" { config = { path = \"/tmp/t\" } }\n}\n"
}

// The four methods' keys decode with Vault Agent's rules and defaults.
func TestOtherMethodsDecode(t *testing.T) {
	cfg := load(t, methodConfig("ldap", `username = "alice"
password_file_path = "/run/pw"
remove_password_follows_symlinks = "true"
password_read_period = "30s"`))
	if got, want := *cfg.AutoAuth.Method.LDAP, (LDAP{Username: "alice", PasswordFilePath: "/run/pw", RemovePasswordAfterReading: true,
		RemovePasswordFollowsSymlinks: true}); got != want {
		t.Fatalf("ldap: %+v", got)
	}
	if w := strings.Join(Warnings(cfg), "\n"); !strings.Contains(w, "password_read_period") {
		t.Fatalf("no warning that password_read_period is ignored:\n%s", w)
	}

	cfg = load(t, methodConfig("kerberos", `username = "alice"
service = "HTTP/vault.example.com"
realm = "EXAMPLE.COM"
keytab_path = "/etc/krb5.keytab"
krb5conf_path = "/etc/krb5.conf"
disable_fast_negotiation = 1
remove_instance_name = true`))
	if got := *cfg.AutoAuth.Method.Kerberos; !reflect.DeepEqual(got, Kerberos{Username: "alice", Service: "HTTP/vault.example.com", Realm: "EXAMPLE.COM",
		KeytabPath: "/etc/krb5.keytab", Krb5ConfPath: "/etc/krb5.conf", DisableFASTNegotiation: true, RemoveInstanceName: true}) {
		t.Fatalf("kerberos: %+v", got)
	}

	// pcf, cf's old name, is refused by Vault Agent 1.21 once its config
	// has a string (TestFieldForms).
	for _, typ := range []string{"cf"} {
		cfg = load(t, methodConfig(typ, `role = "web"`))
		if m := cfg.AutoAuth.Method; *m.CF != (CF{Role: "web"}) || m.MountPath != "auth/"+typ {
			t.Fatalf("%s: %+v at %s", typ, *m.CF, m.MountPath)
		}
	}

	cfg = load(t, methodConfig("oci", `type = "apikey"
role = "web"`))
	if got := *cfg.AutoAuth.Method.OCI; got != (OCI{Type: "apikey", Role: "web", CredentialPollInterval: time.Minute}) {
		t.Fatalf("oci: %+v", got)
	}
	cfg = load(t, methodConfig("oci", `type = "apikey"
role = "web"
credential_poll_interval = "5m"`))
	if got := cfg.AutoAuth.Method.OCI.CredentialPollInterval; got != 5*time.Minute {
		t.Fatalf("credential_poll_interval %v", got)
	}
}

// Missing keys, wrong values and oci's instance principal are refused at
// load, naming the key and its place; "instance" with the reason.
func TestOtherMethodsRefused(t *testing.T) {
	cases := []struct{ name, typ, body, want string }{
		{"ldap without username", "ldap", `password_file_path = "/p"`, `"username" is required`},
		{"ldap without password file", "ldap", `username = "a"`, `"password_file_path" is required`},
		{"ldap bad period", "ldap", `username = "a"
password_file_path = "/p"
password_read_period = "0s"`, "password_read_period must be a positive duration"},
		{"kerberos without realm", "kerberos", `username = "a"
service = "s"
keytab_path = "/k"
krb5conf_path = "/c"`, `"realm" is required`},
		{"cf without role", "cf", `cf_instance_cert = "/c"`, `"role" is required`},
		{"oci instance", "oci", `type = "instance"
role = "r"`, `cfg.hcl:4:8: Unsupported value: method "oci" config: type "instance" (instance principal) is not supported by rotor`},
		{"oci unknown type", "oci", `type = "resource"
role = "r"`, `type "resource": use "apikey" or "instance"`},
		{"oci zero interval", "oci", `type = "apikey"
role = "r"
credential_poll_interval = 0`, "credential_poll_interval must be a positive duration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			write(t, dir, "cfg.hcl", methodConfig(c.typ, c.body))
			_, err := Load([]string{"cfg.hcl"}, env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				b, _ := os.ReadFile("cfg.hcl")
				t.Fatalf("got %v, want %q for\n%s", err, c.want, b)
			}
		})
	}
}

// A misspelt key in a method's config is ignored by Vault Agent: rotor
// starts, and warns with a suggestion.
func TestOtherMethodsUnknownKeyWarns(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write(t, dir, "cfg.hcl", methodConfig("ldap", `username = "a"
password_file_path = "/p"
pasword_read_period = "10s"`))
	cfg, err := Load([]string{"cfg.hcl"}, env(nil))
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if w := strings.Join(Warnings(cfg), "\n"); !strings.Contains(w, `"pasword_read_period"`) || !strings.Contains(w, `Did you mean "password_read_period"?`) {
		t.Fatalf("warnings lack the suggestion:\n%s", w)
	}
}
