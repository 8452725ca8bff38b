package agent

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/mysqltest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// The seed article's MySQL role (database/creds/orders-readonly) against a
// real MariaDB, as TestDatabaseCredentialsRenewAndRotateBeforeExpiry does
// for PostgreSQL: the rendered user logs in, a renewal keeps it (the
// MySQL plugin renews nothing in the database: the account has no expiry),
// and a new user is rendered before the old one's max TTL, when Vault
// drops the old one.
func TestMySQLCredentialsRenewAndRotateBeforeExpiry(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	my := mysqltest.Start(t)
	mysqltest.SetupVaultDatabase(t, root, my, "6s", "20s")
	dir := t.TempDir()
	out, reloads := filepath.Join(dir, "orders.env"), filepath.Join(dir, "reloads")
	r := startAgent(t, srv, appRoleAuth(t, root, `path "database/creds/orders-readonly" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = <<EOT
{{ with secret "database/creds/orders-readonly" }}username={{ .Data.username }}
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
	if !strings.HasPrefix(first["username"], "v-approle-orders-rea") {
		t.Fatalf("rendered username %q, want the plugin's v-<auth>-<role>-... name", first["username"])
	}
	if err := my.CanSelect(first["username"], first["password"], mysqltest.ItemsTable); err != nil {
		t.Fatalf("rendered credentials cannot SELECT: %v", err)
	}
	// A renewal keeps the same user, which still logs in.
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "lease renewed") {
			return errors.New("no renewal yet")
		}
		return nil
	})
	if now := creds(readFile(t, out)); now["username"] != first["username"] {
		t.Fatalf("the first renewal replaced the user (%s -> %s): it must extend the lease", first["username"], now["username"])
	}
	if err := my.CanSelect(first["username"], first["password"], mysqltest.ItemsTable); err != nil {
		t.Fatalf("after a renewal the user cannot SELECT: %v", err)
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
	if err := my.CanSelect(second["username"], second["password"], mysqltest.ItemsTable); err != nil {
		t.Fatalf("new credentials cannot SELECT: %v", err)
	}
	waitContent(t, reloads, func(s string) bool { return s == "reload\nreload\n" }, 5*time.Second)
	// Vault drops the first user when its max TTL ends; the second lives.
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if slices.Contains(my.Users(t, "v-"), first["username"]) {
			return errors.New("first user still exists")
		}
		return nil
	})
	if err := my.CanLogin(first["username"], first["password"]); err == nil {
		t.Fatal("the first user still logs in after its lease ended")
	}
	if cur := creds(readFile(t, out)); my.CanSelect(cur["username"], cur["password"], mysqltest.ItemsTable) != nil {
		t.Fatal("the rendered user cannot SELECT after the first was dropped")
	}
}

// A MySQL static role rotated by Vault on its own schedule (every 5s):
// rotor reads the new password just after each rotation, from the ttl
// Vault states, without a static_secret_render_interval; each rendered
// password logs in and the one before it no longer does.
func TestMySQLStaticRoleFollowsScheduledRotation(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	my := mysqltest.Start(t)
	mysqltest.SetupVaultDatabase(t, root, my, "1h", "8h")
	mysqltest.SetupStaticRole(t, root, my, "legacy-orders", "legacy_orders", mysqltest.MinRotationPeriod)
	out := filepath.Join(t.TempDir(), "legacy.env")
	startAgent(t, srv, appRoleAuth(t, root, `path "database/static-creds/legacy-orders" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = "{{ with secret \"database/static-creds/legacy-orders\" }}username={{ .Data.username }}\npassword={{ .Data.password }}\n{{ end }}"
  destination = %q
}`, out))
	prev := creds(waitContent(t, out, func(s string) bool { return strings.Contains(s, "password=") }, 30*time.Second))
	if prev["username"] != "legacy_orders" {
		t.Fatalf("rendered username %q", prev["username"])
	}
	verified := 0
	for i := range 2 {
		// Rotations are 5s apart (Vault checks its queue every second);
		// rotor reads about a second after each.
		next := creds(waitContent(t, out, func(s string) bool {
			p := creds(s)["password"]
			return p != "" && p != prev["password"]
		}, 15*time.Second))
		// The password may have rotated again since the file was written;
		// only the current one is checked to log in.
		cur, err := root.Logical().Read("database/static-creds/legacy-orders")
		if err != nil || cur == nil {
			t.Fatalf("read static-creds: %v", err)
		}
		if cur.Data["password"] == next["password"] {
			if err := my.CanSelect("legacy_orders", next["password"], mysqltest.ItemsTable); err != nil {
				t.Fatalf("rotation %d: the rendered password does not work: %v", i+1, err)
			}
			verified++
		}
		if err := my.CanLogin("legacy_orders", prev["password"]); err == nil {
			t.Fatalf("rotation %d: the previous password still works", i+1)
		}
		prev = next
	}
	if verified == 0 {
		t.Fatal("Vault rotated again before every check: no rendered password was ever current")
	}
}
