package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/jcmturner/goidentity/v6"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/rotorproject/rotor/test/harness/krbtest"
)

// acceptSPNEGO checks an Authorization header as Vault's kerberos method
// does (gokrb5's SPNEGO handler with Vault's keytab and service
// principal) and returns the client's name and realm, or "" when refused.
func acceptSPNEGO(t *testing.T, serviceKeytab, authz string) (user, realm string) {
	t.Helper()
	b, err := os.ReadFile(serviceKeytab)
	if err != nil {
		t.Fatal(err)
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	h := spnego.SPNEGOKRB5Authenticate(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if id, ok := r.Context().Value(goidentity.CTXKey).(goidentity.Identity); ok {
			user, realm = id.UserName(), id.Domain()
		}
	}), kt, service.KeytabPrincipal("HTTP/localhost"))
	req := httptest.NewRequest("POST", "/v1/auth/kerberos/login", nil)
	req.RemoteAddr = "127.0.0.1:8080"
	req.Header.Set("Authorization", authz)
	h.ServeHTTP(httptest.NewRecorder(), req)
	return user, realm
}

// rotor's kerberos login has Vault Agent's shape (path, an empty body, a
// "Negotiate" Authorization header), against one real MIT KDC, and the
// service side of SPNEGO, as Vault runs it, accepts both tokens as the
// same user. With disable_fast_negotiation too. An unrelated keytab's
// token is refused: the check can fail.
func TestKerberosMatchesVaultAgent(t *testing.T) {
	kdc := krbtest.Start(t)
	kdc.AddPrincipal(t, "HTTP/localhost", "+no_auth_data_required")
	kdc.AddPrincipal(t, "alice")
	svc := kdc.Keytab(t, "HTTP/localhost")
	kt := kdc.Keytab(t, "alice")
	rec := newRecorder(t)
	for _, fast := range []bool{false, true} {
		cfg := map[string]any{"username": "alice", "service": "HTTP/localhost", "realm": krbtest.Realm, "keytab_path": kt, "krb5conf_path": kdc.Krb5Conf}
		if fast {
			cfg["disable_fast_negotiation"] = true
		}
		va := vaultAgentLogin(t, nil, "kerberos", cfg, "auth/kerberos", rec.URL)
		m, err := newKerberos("auth/kerberos", KerberosOptions{Username: "alice", Service: "HTTP/localhost", Realm: krbtest.Realm,
			KeytabPath: kt, Krb5ConfPath: kdc.Krb5Conf, DisableFASTNegotiation: fast})
		if err != nil {
			t.Fatal(err)
		}
		ro := rec.login(t, m)
		ro.Header = methodHeaders(ro.Header, "Authorization")
		if ro.Path != va.Path || ro.Path != "auth/kerberos/login" || len(ro.Body) != 0 || len(va.Body) != 0 ||
			!reflect.DeepEqual(keysOf(ro.Header), keysOf(va.Header)) {
			t.Fatalf("rotor sent %s %v %v\nVault Agent %s %v %v", ro.Path, keysOf(ro.Header), ro.Body, va.Path, keysOf(va.Header), va.Body)
		}
		for who, h := range map[string]string{"rotor": ro.Header.Get("Authorization"), "Vault Agent": va.Header.Get("Authorization")} {
			if !strings.HasPrefix(h, "Negotiate ") {
				t.Fatalf("%s's Authorization: %.20q...", who, h)
			}
			if u, r := acceptSPNEGO(t, svc, h); u != "alice" || r != krbtest.Realm {
				t.Fatalf("%s's SPNEGO token (FAST off: %v) is refused by the service side (got %q@%q)", who, fast, u, r)
			}
		}
	}

	// Another realm's service key cannot read the ticket.
	other := krbtest.Start(t)
	other.AddPrincipal(t, "HTTP/localhost", "+no_auth_data_required")
	m, _ := newKerberos("auth/kerberos", KerberosOptions{Username: "alice", Service: "HTTP/localhost", Realm: krbtest.Realm, KeytabPath: kt, Krb5ConfPath: kdc.Krb5Conf})
	if u, _ := acceptSPNEGO(t, other.Keytab(t, "HTTP/localhost"), methodHeaders(rec.login(t, m).Header, "Authorization").Get("Authorization")); u != "" {
		t.Fatalf("a ticket for another KDC's service key was accepted as %q", u)
	}
}

// remove_instance_name: a keytab for alice/host logs in as alice.
func TestKerberosRemoveInstanceName(t *testing.T) {
	kdc := krbtest.Start(t)
	kdc.AddPrincipal(t, "HTTP/localhost", "+no_auth_data_required")
	kdc.AddPrincipal(t, "alice")
	svc := kdc.Keytab(t, "HTTP/localhost")
	// The keytab names alice/host, with alice's key.
	b, err := os.ReadFile(kdc.Keytab(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	kt := keytab.New()
	if err := kt.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	for i := range kt.Entries {
		kt.Entries[i].Principal.Components = []string{"alice", "host"}
		kt.Entries[i].Principal.NumComponents = 2
	}
	out, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := writeTestFile(t, t.TempDir(), "inst.keytab", string(out))
	rec := newRecorder(t)
	m, _ := newKerberos("auth/kerberos", KerberosOptions{Username: "alice", Service: "HTTP/localhost", Realm: krbtest.Realm,
		KeytabPath: p, Krb5ConfPath: kdc.Krb5Conf, RemoveInstanceName: true})
	if u, _ := acceptSPNEGO(t, svc, methodHeaders(rec.login(t, m).Header, "Authorization").Get("Authorization")); u != "alice" {
		t.Fatalf("logged in as %q", u)
	}
}

func keysOf(h http.Header) []string {
	var k []string
	for x := range h {
		k = append(k, x)
	}
	return k
}
