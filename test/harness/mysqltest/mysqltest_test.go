//go:build unix

package mysqltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

func TestMariaDB(t *testing.T) {
	m := Start(t)
	if err := m.CanLogin(m.AdminUser, m.AdminPassword); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	if err := m.CanLogin(m.AdminUser, "wrong"); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("admin login with a wrong password: err = %v, want Access denied", err)
	}
	m.Exec(t, "CREATE TABLE t1 (n int); INSERT INTO t1 VALUES (1), (2);\n"+
		"CREATE USER 'v-app-1'@'%' IDENTIFIED BY 'pw1';\n"+
		"CREATE USER 'other'@'%' IDENTIFIED BY 'pw2';")
	if got := m.Query(t, "SELECT n, n*10 FROM t1 ORDER BY n"); got != "1\t10\n2\t20" {
		t.Errorf("query = %q", got)
	}
	if got := m.Users(t, "v-"); !slices.Equal(got, []string{"v-app-1"}) {
		t.Errorf("Users(v-) = %q, want [v-app-1]", got)
	}
	if got := m.Users(t, "nobody-"); got != nil {
		t.Errorf("Users(nobody-) = %q, want none", got)
	}
	if err := m.CanSelect("v-app-1", "pw1", "orders.t1"); err == nil || !strings.Contains(err.Error(), "denied") {
		t.Errorf("v-app-1 select without grant: err = %v, want denied", err)
	}
	m.Exec(t, "GRANT SELECT ON orders.t1 TO 'v-app-1'@'%'")
	if err := m.CanSelect("v-app-1", "pw1", "orders.t1"); err != nil {
		t.Errorf("v-app-1 select with grant: %v", err)
	}
	if err := m.CanLogin("v-app-1", "pw2"); err == nil || strings.Contains(err.Error(), "pw2") {
		t.Errorf("login with another user's password: err = %v, want refused without the password", err)
	}
	want := fmt.Sprintf("{{username}}:{{password}}@tcp(127.0.0.1:%d)/orders", m.Port)
	if got := m.ConnURLTemplate(); got != want {
		t.Errorf("ConnURLTemplate = %q, want %q", got, want)
	}
	if got := quoteLiteral(`a'b\c`); got != `'a''b\\c'` {
		t.Errorf("quoteLiteral = %s", got)
	}
}

func TestCleanup(t *testing.T) {
	var pid int
	var dir string
	t.Run("run", func(t *testing.T) {
		m := Start(t)
		pid, dir = m.Pid(), m.dir
	})
	if pid == 0 { // the subtest stopped before the server started
		return
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("mariadbd %d after cleanup: kill 0 = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after cleanup: %v, want it removed", dir, err)
	}
}

func TestVaultDatabase(t *testing.T) {
	m := Start(t)
	srv := vaulttest.Start(t)
	c := srv.Client(t)
	SetupVaultDatabase(t, c, m, "1h", "8h")
	SetupVaultDatabase(t, c, m, "1h", "8h") // a second call changes nothing
	if got := m.Query(t, "SELECT COUNT(*) FROM "+ItemsTable); got != "1" {
		t.Fatalf("%s has %s rows, want 1", ItemsTable, got)
	}

	t.Run("dynamic", func(t *testing.T) {
		s, err := c.Logical().Read(Mount + "/creds/" + ReadOnlyRole)
		if err != nil || s == nil {
			t.Fatalf("read creds: %v", err)
		}
		user, _ := s.Data["username"].(string)
		pass, _ := s.Data["password"].(string)
		// The plugin's username template: v-<display name>-<role>-<random>-<unix time>, cut to 32.
		if !strings.HasPrefix(user, "v-token-orders-rea") || len(user) > 32 || pass == "" {
			t.Fatalf("creds: username %q, password empty: %v", user, pass == "")
		}
		if !s.Renewable || s.LeaseDuration != 3600 {
			t.Errorf("lease: renewable %v, duration %d; want renewable, 3600", s.Renewable, s.LeaseDuration)
		}
		if got := m.Users(t, "v-"); !slices.Equal(got, []string{user}) {
			t.Errorf("Users(v-) = %q, want [%s]", got, user)
		}
		if err := m.CanSelect(user, pass, ItemsTable); err != nil {
			t.Errorf("dynamic user cannot read %s: %v", ItemsTable, err)
		}
		if _, err := c.Sys().Renew(s.LeaseID, 7200); err != nil {
			t.Fatalf("renew: %v", err)
		}
		if err := m.CanSelect(user, pass, ItemsTable); err != nil {
			t.Errorf("after a renewal the user cannot read %s: %v", ItemsTable, err)
		}
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		vaulttest.Eventually(t, 10*time.Second, func() error {
			if got := m.Users(t, "v-"); got != nil {
				return fmt.Errorf("users %q remain after revoke", got)
			}
			return nil
		})
		if err := m.CanLogin(user, pass); err == nil {
			t.Errorf("revoked user can still log in")
		}
	})

	t.Run("static", func(t *testing.T) {
		SetupStaticRole(t, c, m, "legacy-orders", "legacy_orders", MinRotationPeriod)
		creds := func() (string, int) {
			s, err := c.Logical().Read(Mount + "/static-creds/legacy-orders")
			if err != nil || s == nil {
				t.Fatalf("read static-creds: %v", err)
			}
			pass, _ := s.Data["password"].(string)
			ttl, _ := s.Data["ttl"].(json.Number)
			n, _ := ttl.Int64()
			return pass, int(n)
		}
		first, ttl := creds()
		if ttl <= 0 || ttl > 5 {
			t.Errorf("static-creds ttl = %d, want in (0, 5]", ttl)
		}
		if err := m.CanSelect("legacy_orders", first, ItemsTable); err != nil {
			t.Fatalf("static user with Vault's password: %v", err)
		}
		var second string
		vaulttest.Eventually(t, 15*time.Second, func() error {
			if second, _ = creds(); second == first {
				return errors.New("password not rotated yet")
			}
			return nil
		})
		if err := m.CanLogin("legacy_orders", first); err == nil {
			t.Errorf("the old password still works after rotation")
		}
		if err := m.CanSelect("legacy_orders", second, ItemsTable); err != nil {
			t.Errorf("static user with the rotated password: %v", err)
		}
	})
}
