package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type proxied struct {
	status int
	cache  string
	body   map[string]any
}

func proxyCall(t *testing.T, method, url, body string) proxied {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := proxied{status: resp.StatusCode, cache: resp.Header.Get("X-Cache")}
	json.Unmarshal(b, &p.body)
	return p
}

func (p proxied) leaseID() string { s, _ := p.body["lease_id"].(string); return s }

// An application with no token of its own talks to rotor's listener as
// if it were Vault: rotor adds its token, caches the leased answer (two
// identical requests, one database user), renews the lease, revokes it
// when the application asks through the proxy, and keeps the same lease
// across a restart with a state file.
func TestAPIProxyCachesDatabaseCredentials(t *testing.T) {
	d := newDBSetup(t, "12s", "1h", `
path "secret/data/app" { capabilities = ["read"] }
path "sys/leases/revoke" { capabilities = ["update"] }`)
	if _, err := d.root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "kv-value"}); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := d.config(t, fmt.Sprintf(`
cache {}
api_proxy {
  use_auto_auth_token = true
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
state {
  dir     = %q
  key_env = "ROTOR_STATE_KEY"
}
`, addr, filepath.Join(d.dir, "state")))
	env := []string{"ROTOR_STATE_KEY=proxy-test-state-key-0123456789"}
	p := startEnv(t, env, "agent", "-config", cfg)
	waitReady := func() {
		vaulttest.Eventually(t, 30*time.Second, func() error {
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			if r := proxyCall(t, "GET", base+"/v1/auth/token/lookup-self", ""); r.status != 200 {
				return fmt.Errorf("not logged in yet: %d", r.status)
			}
			return nil
		})
	}
	waitReady()

	// KV through the proxy, no token: rotor's is used.
	if r := proxyCall(t, "GET", base+"/v1/secret/data/app", ""); r.status != 200 || !strings.Contains(fmt.Sprint(r.body), "kv-value") {
		t.Fatalf("KV read through the proxy: %d %v", r.status, r.body)
	}
	// Two identical credential requests: one lease, one database user.
	first := proxyCall(t, "GET", base+"/v1/database/creds/myapp-readonly", "")
	second := proxyCall(t, "GET", base+"/v1/database/creds/myapp-readonly", "")
	if first.status != 200 || first.leaseID() == "" || second.leaseID() != first.leaseID() || first.cache != "MISS" || second.cache != "HIT" {
		t.Fatalf("credentials: %d %q (%s), then %q (%s)", first.status, first.leaseID(), first.cache, second.leaseID(), second.cache)
	}
	if u := d.users(t); len(u) != 1 {
		t.Fatalf("two identical requests made %d database users: %v", len(u), u)
	}
	data := first.body["data"].(map[string]any)
	user, pass := data["username"].(string), data["password"].(string)
	if err := d.pg.CanLogin(user, pass); err != nil {
		t.Fatalf("the proxied credentials do not log in: %v", err)
	}
	// rotor renews the cached lease (12s TTL): it outlives its first TTL.
	lookup := func() map[string]any {
		sec, err := d.root.Logical().Write("sys/leases/lookup", map[string]any{"lease_id": first.leaseID()})
		if err != nil || sec == nil {
			t.Fatalf("lease lookup: %v", err)
		}
		return sec.Data
	}
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if lookup()["last_renewal"] == nil {
			return errors.New("the cached lease has not been renewed")
		}
		return nil
	})

	// A restart with the state file: the same lease, the same user.
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.exitCode(t, 30*time.Second)
	p = startEnv(t, env, "agent", "-config", cfg)
	waitReady()
	again := proxyCall(t, "GET", base+"/v1/database/creds/myapp-readonly", "")
	if again.leaseID() != first.leaseID() || again.cache != "HIT" {
		t.Fatalf("after a restart: lease %q (%s), want the same %q from the cache", again.leaseID(), again.cache, first.leaseID())
	}
	if u := d.users(t); len(u) != 1 {
		t.Fatalf("a restart made a new database user: %v", u)
	}

	// Revoked through the proxy: the user is dropped, the cache evicted.
	body := fmt.Sprintf(`{"lease_id": %q}`, first.leaseID())
	if r := proxyCall(t, "PUT", base+"/v1/sys/leases/revoke", body); r.status != 204 {
		t.Fatalf("revoke through the proxy: %d %v", r.status, r.body)
	}
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if u := d.users(t); len(u) != 0 {
			return fmt.Errorf("users left: %v", u)
		}
		return nil
	})
	fresh := proxyCall(t, "GET", base+"/v1/database/creds/myapp-readonly", "")
	if fresh.cache != "MISS" || fresh.leaseID() == first.leaseID() {
		t.Fatalf("after the revocation: %q (%s), want a new lease", fresh.leaseID(), fresh.cache)
	}
	// No proxied secret reaches rotor's log.
	if strings.Contains(p.out.String(), pass) {
		t.Fatal("a proxied password reached rotor's log")
	}
}
