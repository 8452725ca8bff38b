package vaulttest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// EnableAuth enables the auth method typ (e.g. "approle") at path. It does
// nothing if path already has an auth method of that type, so Setup helpers
// can share a mount.
func EnableAuth(t testing.TB, c *api.Client, path, typ string) {
	t.Helper()
	path = strings.Trim(path, "/")
	mounts, err := c.Sys().ListAuth()
	if err != nil {
		t.Fatalf("vaulttest: list auth methods: %v", err)
	}
	if m, ok := mounts[path+"/"]; ok {
		if m.Type != typ {
			t.Fatalf("vaulttest: auth/%s is a %q mount, want %q", path, m.Type, typ)
		}
		return
	}
	if err := c.Sys().EnableAuthWithOptions(path, &api.EnableAuthOptions{Type: typ}); err != nil {
		t.Fatalf("vaulttest: enable auth %s at %s: %v", typ, path, err)
	}
}

// EnableSecrets mounts the secrets engine typ at path. opts are the mount's
// options, e.g. {"version": 2} for "kv"; values are sent as strings. It does
// nothing if path already has an engine of that type (the dev server mounts
// kv v2 at "secret").
func EnableSecrets(t testing.TB, c *api.Client, path, typ string, opts map[string]any) {
	t.Helper()
	path = strings.Trim(path, "/")
	mounts, err := c.Sys().ListMounts()
	if err != nil {
		t.Fatalf("vaulttest: list mounts: %v", err)
	}
	if m, ok := mounts[path+"/"]; ok {
		if m.Type != typ {
			t.Fatalf("vaulttest: %s is a %q mount, want %q", path, m.Type, typ)
		}
		return
	}
	in := &api.MountInput{Type: typ, Options: map[string]string{}}
	for k, v := range opts {
		in.Options[k] = fmt.Sprint(v)
	}
	if err := c.Sys().Mount(path, in); err != nil {
		t.Fatalf("vaulttest: mount %s at %s: %v", typ, path, err)
	}
}

// WritePolicy creates or replaces the ACL policy name with the given HCL.
func WritePolicy(t testing.TB, c *api.Client, name, hcl string) {
	t.Helper()
	if err := c.Sys().PutPolicy(name, hcl); err != nil {
		t.Fatalf("vaulttest: write policy %s: %v", name, err)
	}
}

// SetupAppRole enables approle at mount, writes role with roleOpts (any
// field of auth/<mount>/role/<role>, e.g. "token_ttl", "secret_id_num_uses",
// or "role_id" to choose the role ID) and returns its role ID and a new
// secret ID. Unless roleOpts sets token_policies, the role gets
// ["default", role].
func SetupAppRole(t testing.TB, c *api.Client, mount, role string, roleOpts map[string]any) (roleID, secretID string) {
	t.Helper()
	EnableAuth(t, c, mount, "approle")
	data := map[string]any{"token_policies": rolePolicies(role)}
	for k, v := range roleOpts {
		data[k] = v
	}
	write(t, c, authPath(mount, "role", role), data)
	s := read(t, c, authPath(mount, "role", role, "role-id"))
	roleID, _ = s.Data["role_id"].(string)
	if roleID == "" {
		t.Fatalf("vaulttest: approle %s/%s: empty role_id", mount, role)
	}
	return roleID, NewSecretID(t, c, mount, role)
}

// NewSecretID generates a new secret ID for an existing AppRole role.
func NewSecretID(t testing.TB, c *api.Client, mount, role string) string {
	t.Helper()
	s := write(t, c, authPath(mount, "role", role, "secret-id"), nil)
	id, _ := s.Data["secret_id"].(string)
	if id == "" {
		t.Fatalf("vaulttest: approle %s/%s: empty secret_id", mount, role)
	}
	return id
}

// CustomSecretID registers secretID, chosen by the caller, for an existing
// AppRole role. Together with the "role_id" role option it lets a test give
// an agent the same credentials again after Restart.
func CustomSecretID(t testing.TB, c *api.Client, mount, role, secretID string) {
	t.Helper()
	write(t, c, authPath(mount, "role", role, "custom-secret-id"), map[string]any{"secret_id": secretID})
}

// WrappedSecretID generates a new secret ID for an existing AppRole role,
// response-wrapped for wrapTTL (e.g. "5m"), and returns the wrapping token.
// The secret ID itself is never seen by the caller; unwrap it with the
// wrapping token (sys/wrapping/unwrap), as an agent would.
func WrappedSecretID(t testing.TB, c *api.Client, mount, role, wrapTTL string) string {
	t.Helper()
	wc, err := c.Clone() // Clone drops the token; set it again below
	if err != nil {
		t.Fatalf("vaulttest: clone client: %v", err)
	}
	wc.SetToken(c.Token())
	wc.SetWrappingLookupFunc(func(string, string) string { return wrapTTL })
	path := authPath(mount, "role", role, "secret-id")
	s, err := wc.Logical().Write(path, nil)
	if err != nil {
		t.Fatalf("vaulttest: write %s: %v", path, err)
	}
	if s == nil || s.WrapInfo == nil || s.WrapInfo.Token == "" {
		t.Fatalf("vaulttest: write %s: response was not wrapped", path)
	}
	return s.WrapInfo.Token
}

// TokenLookup returns the data of auth/token/lookup for token, looked up
// with c (normally a root client): "ttl", "policies", "meta", etc.
func TokenLookup(t testing.TB, c *api.Client, token string) map[string]any {
	t.Helper()
	s, err := c.Auth().Token().Lookup(token)
	if err != nil {
		t.Fatalf("vaulttest: token lookup: %v", err)
	}
	if s == nil {
		t.Fatalf("vaulttest: token lookup: empty response")
	}
	return s.Data
}

// RevokeToken revokes token and its children through auth/token/revoke,
// using c (normally a root client).
func RevokeToken(t testing.TB, c *api.Client, token string) {
	t.Helper()
	write(t, c, "auth/token/revoke", map[string]any{"token": token})
}

// Eventually calls f every 50ms until it returns nil, and fails the test
// with f's last error if that does not happen within timeout. Like
// t.Fatal, it must be called from the test's goroutine.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("vaulttest: condition not met within %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rolePolicies is the token_policies value the Setup helpers give a role
// or cert named name.
func rolePolicies(name string) []string { return []string{"default", name} }

// authPath joins auth/<mount>/<parts...>.
func authPath(mount string, parts ...string) string {
	return "auth/" + strings.Trim(mount, "/") + "/" + strings.Join(parts, "/")
}

// write is Logical().Write that fails the test on error.
func write(t testing.TB, c *api.Client, path string, data map[string]any) *api.Secret {
	t.Helper()
	s, err := c.Logical().Write(path, data)
	if err != nil {
		t.Fatalf("vaulttest: write %s: %v", path, err)
	}
	if s == nil {
		s = &api.Secret{}
	}
	return s
}

// read is Logical().Read that fails the test on error or a missing path.
func read(t testing.TB, c *api.Client, path string) *api.Secret {
	t.Helper()
	s, err := c.Logical().Read(path)
	if err != nil {
		t.Fatalf("vaulttest: read %s: %v", path, err)
	}
	if s == nil {
		t.Fatalf("vaulttest: read %s: not found", path)
	}
	return s
}
