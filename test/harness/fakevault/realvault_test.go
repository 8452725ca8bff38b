package fakevault_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/fakevault"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// side is one server under comparison: its address and tokens.
type side struct {
	name, addr, root string
	roleID, secretID string
}

// call is one request and its answer's status and JSON body.
type call struct {
	status int
	body   map[string]any
}

func (s side) do(t *testing.T, method, path, token string, body any) call {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.addr+"/v1/"+path, rd)
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s %s: %v", s.name, method, path, err)
	}
	defer resp.Body.Close()
	c := call{status: resp.StatusCode}
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &c.body); err != nil {
			t.Fatalf("%s %s %s: not JSON: %s", s.name, method, path, b)
		}
	}
	return c
}

// TestShapesMatchRealVault sends the same requests to a real `vault server
// -dev` (1.21, with PostgreSQL behind its database engine) and to the
// fake, and compares the answers: the same status, the same error text,
// and every key the fake answers with present in Vault's answer with the
// same JSON type (Vault's envelope and auth objects must match exactly).
// Skipped without a Vault binary (see vaulttest.VaultBin).
func TestShapesMatchRealVault(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "1h", "24h")
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "web", map[string]any{"token_ttl": "1h"})
	real := side{name: "vault", addr: srv.Addr, root: srv.RootToken, roleID: roleID, secretID: secretID}

	fv := fakevault.New()
	fv.PutKV("app", map[string]any{"k": "v"})
	fv.AddDBRole(pgtest.DynamicRole, fakevault.DBRole{TTL: time.Hour, MaxTTL: 24 * time.Hour, Renewable: true})
	fv.AddAppRole("web", "role-1", "secret-1", time.Hour)
	fake := side{name: "fake", addr: fv.Serve(t), root: fakevault.RootToken, roleID: "role-1", secretID: "secret-1"}

	// script runs the same steps on one side; each step's answer is kept
	// by name.
	script := func(s side) map[string]call {
		out := map[string]call{}
		out["token create"] = s.do(t, "POST", "auth/token/create", s.root, map[string]any{"policies": []string{"default"}, "ttl": "1h"})
		tok, _ := out["token create"].body["auth"].(map[string]any)["client_token"].(string)
		out["lookup-self"] = s.do(t, "GET", "auth/token/lookup-self", tok, nil)
		out["renew-self"] = s.do(t, "PUT", "auth/token/renew-self", tok, map[string]any{"increment": 3600})
		out["kv v2 read"] = s.do(t, "GET", "secret/data/app", s.root, nil)
		out["kv v2 missing"] = s.do(t, "GET", "secret/data/missing", s.root, nil)
		out["mount lookup"] = s.do(t, "GET", "sys/internal/ui/mounts/secret/app", s.root, nil)
		out["approle login"] = s.do(t, "POST", "auth/approle/login", "", map[string]any{"role_id": s.roleID, "secret_id": s.secretID})
		out["approle bad secret_id"] = s.do(t, "POST", "auth/approle/login", "", map[string]any{"role_id": s.roleID, "secret_id": "wrong"})
		out["database creds"] = s.do(t, "GET", "database/creds/"+pgtest.DynamicRole, s.root, nil)
		lease, _ := out["database creds"].body["lease_id"].(string)
		out["lease renew"] = s.do(t, "PUT", "sys/leases/renew", s.root, map[string]any{"lease_id": lease, "increment": 3600})
		out["lease revoke"] = s.do(t, "PUT", "sys/leases/revoke", s.root, map[string]any{"lease_id": lease})
		out["renew revoked lease"] = s.do(t, "PUT", "sys/leases/renew", s.root, map[string]any{"lease_id": lease})
		out["invalid token"] = s.do(t, "GET", "secret/data/app", "not-a-token", nil)
		out["revoke-self"] = s.do(t, "PUT", "auth/token/revoke-self", tok, nil)
		out["revoked token"] = s.do(t, "GET", "auth/token/lookup-self", tok, nil)
		return out
	}
	want, got := script(real), script(fake)
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, g := want[name], got[name]
		if testing.Verbose() {
			t.Logf("%s:\n  vault %d %v\n  fake  %d %v", name, w.status, w.body, g.status, g.body)
		}
		if w.status != g.status {
			t.Errorf("%s: fake answers %d, Vault %d (%v)", name, g.status, w.status, w.body)
			continue
		}
		if w.status >= 400 {
			if fmt.Sprint(w.body["errors"]) != fmt.Sprint(g.body["errors"]) {
				t.Errorf("%s: fake's errors %q, Vault's %q", name, g.body["errors"], w.body["errors"])
			}
			continue
		}
		for _, p := range compare("", w.body, g.body, true) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// sameValue names the keys whose values, not only types, must match:
// what rotor decides on (kind of answer, renewability, token type).
var sameValue = map[string]bool{"mount_type": true, "renewable": true, "token_type": true, "orphan": true, "type": true}

// compare lists how fake's JSON differs from real's: a key real lacks, or
// a different type where neither is null. exact (for Vault's envelope and
// its auth object) also wants every key of real in fake.
func compare(at string, real, fake any, exact bool) []string {
	var out []string
	rm, rok := real.(map[string]any)
	fm, fok := fake.(map[string]any)
	switch {
	case real == nil || fake == nil:
		return nil
	case rok != fok:
		return []string{fmt.Sprintf("%s: fake has %T, Vault %T", at, fake, real)}
	case !rok:
		if fmt.Sprintf("%T", real) != fmt.Sprintf("%T", fake) {
			return []string{fmt.Sprintf("%s: fake has %T, Vault %T", at, fake, real)}
		}
		return nil
	}
	for k, fv := range fm {
		rv, ok := rm[k]
		if !ok {
			out = append(out, fmt.Sprintf("%s.%s: the fake answers it, Vault does not", at, k))
			continue
		}
		if sameValue[k] && fmt.Sprint(rv) != fmt.Sprint(fv) {
			out = append(out, fmt.Sprintf("%s.%s: fake has %v, Vault %v", at, k, fv, rv))
		}
		out = append(out, compare(at+"."+k, rv, fv, k == "auth")...)
	}
	if exact {
		for k := range rm {
			if _, ok := fm[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: Vault answers it, the fake does not", at, k))
			}
		}
	}
	sort.Strings(out)
	return out
}

// The comparison itself must catch a missing key and a wrong type.
func TestCompareFindsDifferences(t *testing.T) {
	real := map[string]any{"a": 1.0, "auth": map[string]any{"x": "s", "y": true}, "data": map[string]any{"z": "s", "extra": 1.0}, "mount_type": "system"}
	fake := map[string]any{"a": "1", "auth": map[string]any{"x": "s"}, "data": map[string]any{"z": "s", "own": 1.0}, "mount_type": ""}
	got := strings.Join(compare("", real, fake, true), "\n")
	for _, want := range []string{".a: fake has string", ".auth.y: Vault answers it", ".data.own: the fake answers it", ".mount_type: fake has , Vault system"} {
		if !strings.Contains(got, want) {
			t.Errorf("compare missed %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "extra") {
		t.Errorf("compare wants data's extra key, which only exact objects need:\n%s", got)
	}
}
