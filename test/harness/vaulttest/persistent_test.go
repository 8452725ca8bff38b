package vaulttest_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// statusOf returns the HTTP status of a Vault client error (0 if none).
func statusOf(err error) int {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func TestPersistentKeepsTokensAndLeasesAcrossRestarts(t *testing.T) {
	s := vaulttest.StartPersistent(t)
	root := s.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "1m", "1h")
	vaulttest.WritePolicy(t, root, "app", `path "database/creds/*" { capabilities = ["read"] }
path "secret/data/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }`)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": "1h"})
	login, err := s.NewClient(t, "").Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		t.Fatal(err)
	}
	app := s.NewClient(t, login.Auth.ClientToken)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	creds, err := app.Logical().Read("database/creds/" + pgtest.DynamicRole)
	if err != nil {
		t.Fatal(err)
	}
	user, pass := creds.Data["username"].(string), creds.Data["password"].(string)

	check := func(when string) {
		t.Helper()
		if _, err := app.Auth().Token().LookupSelf(); err != nil {
			t.Fatalf("%s: the token made before does not work: %v", when, err)
		}
		if kv, err := app.KVv2("secret").Get(t.Context(), "app"); err != nil || kv.Data["v"] != "1" {
			t.Fatalf("%s: KV: %v", when, err)
		}
		ren, err := app.Sys().Renew(creds.LeaseID, 60)
		if err != nil || ren.LeaseDuration <= 0 {
			t.Fatalf("%s: the database lease made before cannot be renewed: %v", when, err)
		}
		if err := pg.CanLogin(user, pass); err != nil {
			t.Fatalf("%s: the database user made before cannot log in: %v", when, err)
		}
	}
	check("before")

	s.Restart(t)
	check("after a clean restart")

	s.Kill()
	if s.Running() || s.Health() != 0 {
		t.Fatal("killed server still answers")
	}
	s.Start(t)
	if code := s.Health(); code != http.StatusServiceUnavailable {
		t.Fatalf("after Start: sys/health %d, want 503 (sealed)", code)
	}
	if _, err := app.Auth().Token().LookupSelf(); statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("sealed server: %v, want 503", err)
	}
	s.Unseal(t)
	s.WaitActive(t, 30*time.Second)
	check("after a crash")

	s.Seal(t)
	if _, err := app.Auth().Token().LookupSelf(); statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("sealed server: %v, want 503", err)
	}
	s.Unseal(t)
	s.WaitActive(t, 30*time.Second)
	check("after seal and unseal")
}

func TestClusterFailover(t *testing.T) {
	c := vaulttest.StartCluster(t, 3)
	if len(c.Addrs()) != 3 {
		t.Fatalf("addresses: %v", c.Addrs())
	}
	active := c.Active()
	if active < 0 {
		t.Fatal("no active node")
	}
	root := c.Nodes[active].Client(t)
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/*" { capabilities = ["create", "update", "read"] }`)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": "1h"})
	standby := (active + 1) % 3
	// A login through a standby is forwarded to the active node.
	login, err := c.Nodes[standby].NewClient(t, "").Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		t.Fatalf("login through a standby: %v", err)
	}
	token := login.Auth.ClientToken
	if _, err := c.Nodes[standby].NewClient(t, token).KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "1"}); err != nil {
		t.Fatalf("write through a standby: %v", err)
	}

	killed := time.Now()
	c.Kill(active)
	next := c.WaitActive(t, 15*time.Second, active) // Raft elects within seconds
	failover := time.Since(killed)
	t.Logf("failover: node%d killed, node%d active after %v", active, next, failover.Round(10*time.Millisecond))
	// The token made before works through every surviving node.
	for i, n := range c.Nodes {
		if i == active {
			continue
		}
		vaulttest.Eventually(t, 30*time.Second, func() error {
			kv, err := n.NewClient(t, token).KVv2("secret").Get(t.Context(), "app")
			if err != nil {
				return err
			}
			if kv.Data["v"] != "1" {
				return errors.New("wrong value")
			}
			return nil
		})
	}
	// A standby asked not to forward redirects (307) to the active node;
	// the Vault client follows one redirect and sends the body again.
	other := 3 - active - next
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("PUT", c.Nodes[other].Addr+"/v1/secret/data/app", strings.NewReader(`{"data":{"v":"2"}}`))
	req.Header.Set("X-Vault-Token", token)
	req.Header.Set("X-Vault-No-Request-Forwarding", "true")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), c.Nodes[next].Addr) {
		t.Fatalf("standby without forwarding: %d Location %q, want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), c.Nodes[next].Addr)
	}
	noFwd := c.Nodes[other].NewClient(t, token)
	noFwd.AddHeader("X-Vault-No-Request-Forwarding", "true")
	if _, err := noFwd.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "3"}); err != nil {
		t.Fatalf("PUT through a redirecting standby: %v", err)
	}
	if kv, err := c.Nodes[next].NewClient(t, token).KVv2("secret").Get(t.Context(), "app"); err != nil || kv.Data["v"] != "3" {
		t.Fatalf("the redirected PUT's body did not arrive: %v %v", kv, err)
	}

	// The killed node comes back as a standby and serves the token too.
	c.Restart(t, active)
	if code := c.Nodes[active].Health(); code != http.StatusTooManyRequests && code != http.StatusOK {
		t.Fatalf("restarted node: sys/health %d", code)
	}
	vaulttest.Eventually(t, 30*time.Second, func() error {
		_, err := c.Nodes[active].NewClient(t, token).Auth().Token().LookupSelf()
		return err
	})
}

func TestPersistentTLS(t *testing.T) {
	s := vaulttest.StartPersistent(t, vaulttest.WithTLS())
	if !strings.HasPrefix(s.Addr, "https://") || s.CACert == "" {
		t.Fatalf("Addr %q CACert %q", s.Addr, s.CACert)
	}
	c := s.Client(t)
	if _, err := c.KVv2("secret").Put(t.Context(), "x", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if kv, err := c.KVv2("secret").Get(t.Context(), "x"); err != nil || kv.Data["v"] != "1" {
		t.Fatalf("after a restart: %v %v", kv, err)
	}
}
