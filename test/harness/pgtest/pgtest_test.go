//go:build unix

package pgtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

func TestPostgres(t *testing.T) {
	pg := Start(t)

	if got := pg.Query(t, "SELECT current_database()"); got != Database {
		t.Errorf("current_database = %q, want %q", got, Database)
	}
	if err := pg.CanLogin(pg.AdminUser, pg.AdminPassword); err != nil {
		t.Fatalf("admin login: %v", err)
	}
	if err := pg.CanLogin(pg.AdminUser, "wrong"); err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("admin login with a wrong password: err = %v, want password authentication failed", err)
	}

	pg.Exec(t, "CREATE TABLE t1 (n int); INSERT INTO t1 VALUES (1), (2);\n"+
		"CREATE ROLE \"v-app-1\" LOGIN PASSWORD 'pw1';\n"+
		"CREATE ROLE \"v-nologin\";\n"+
		"CREATE ROLE other LOGIN PASSWORD 'pw2';")
	if got := pg.Query(t, "SELECT n, n*10 FROM t1 ORDER BY n"); got != "1|10\n2|20" {
		t.Errorf("query = %q", got)
	}
	if got := pg.Roles(t, "v-"); !slices.Equal(got, []string{"v-app-1"}) {
		t.Errorf("Roles(v-) = %q, want [v-app-1]", got)
	}
	if got := pg.Roles(t, "nobody-"); got != nil {
		t.Errorf("Roles(nobody-) = %q, want none", got)
	}
	if err := pg.CanLogin("v-app-1", "pw1"); err != nil {
		t.Errorf("v-app-1 login: %v", err)
	}
	if err := pg.CanSelect("v-app-1", "pw1", "t1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("v-app-1 select without grant: err = %v, want permission denied", err)
	}
	pg.Exec(t, `GRANT SELECT ON t1 TO "v-app-1"`)
	if err := pg.CanSelect("v-app-1", "pw1", "t1"); err != nil {
		t.Errorf("v-app-1 select with grant: %v", err)
	}

	want := fmt.Sprintf("postgresql://u%%40x:p%%2Fw@127.0.0.1:%d/db?sslmode=disable", pg.Port)
	if got := pg.DSN("u@x", "p/w", "db"); got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
	want = fmt.Sprintf("postgresql://{{username}}:{{password}}@127.0.0.1:%d/myapp?sslmode=disable", pg.Port)
	if got := pg.ConnURLTemplate(); got != want {
		t.Errorf("ConnURLTemplate = %q, want %q", got, want)
	}
}

func TestCleanup(t *testing.T) {
	var pid int
	var dir string
	t.Run("run", func(t *testing.T) {
		pg := Start(t)
		pid, dir = pg.server.Pid(), pg.dir
	})
	if pid == 0 { // the subtest stopped before the server started
		return
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postmaster %d after cleanup: kill 0 = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after cleanup: %v, want it removed", dir, err)
	}
}

// TestSeedRevocationFails shows why RevocationStatements differ from the
// seed article's: default privileges granted at creation keep DROP ROLE
// from succeeding.
func TestSeedRevocationFails(t *testing.T) {
	pg := Start(t)
	create := strings.NewReplacer(`{{name}}`, "v-seed", `{{password}}`, "pw", `{{expiration}}`, "infinity").
		Replace(strings.Join(CreationStatements, "\n"))
	pg.Exec(t, create)
	seedRevocation := `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM "v-seed";
REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM "v-seed";
REVOKE USAGE ON SCHEMA public FROM "v-seed";
DROP ROLE IF EXISTS "v-seed";`
	if _, err := pg.psql(pg.AdminUser, pg.AdminPassword, Database, seedRevocation); err == nil ||
		!strings.Contains(err.Error(), "cannot be dropped because some objects depend on it") {
		t.Fatalf("seed revocation: err = %v, want DROP ROLE to fail", err)
	}
	pg.Exec(t, strings.ReplaceAll(strings.Join(RevocationStatements, "\n"), "{{name}}", "v-seed"))
	if got := pg.Roles(t, "v-seed"); got != nil {
		t.Errorf("after RevocationStatements: roles %q remain", got)
	}
}

func TestVaultDatabase(t *testing.T) {
	pg := Start(t)
	srv := vaulttest.Start(t)
	c := srv.Client(t)
	SetupVaultDatabase(t, c, pg, "1h", "24h")
	SetupVaultDatabase(t, c, pg, "1h", "24h") // a second call changes nothing
	if got := pg.Query(t, "SELECT count(*) FROM "+ItemsTable); got != "1" {
		t.Fatalf("%s has %s rows, want 1", ItemsTable, got)
	}

	t.Run("group role", func(t *testing.T) {
		SetupGroupRole(t, c, pg, "many-users", "1h", "24h")
		SetupGroupRole(t, c, pg, "many-users", "1h", "24h") // again: the group exists
		s, err := c.Logical().Read(Mount + "/creds/many-users")
		if err != nil {
			t.Fatalf("read creds: %v", err)
		}
		user, pass := s.Data["username"].(string), s.Data["password"].(string)
		if err := pg.CanSelect(user, pass, ItemsTable); err != nil {
			t.Errorf("a member of the group cannot read %s: %v", ItemsTable, err)
		}
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if err := pg.CanLogin(user, pass); err == nil {
			t.Errorf("revoked user can still log in")
		}
	})

	t.Run("dynamic", func(t *testing.T) {
		s, err := c.Logical().Read(Mount + "/creds/" + DynamicRole)
		if err != nil {
			t.Fatalf("read creds: %v", err)
		}
		user, _ := s.Data["username"].(string)
		pass, _ := s.Data["password"].(string)
		if !strings.HasPrefix(user, "v-") || pass == "" {
			t.Fatalf("creds: username %q, password empty: %v", user, pass == "")
		}
		if !s.Renewable || s.LeaseDuration != 3600 {
			t.Errorf("lease: renewable %v, duration %d; want renewable, 3600", s.Renewable, s.LeaseDuration)
		}
		if got := pg.Roles(t, "v-"); !slices.Equal(got, []string{user}) {
			t.Errorf("Roles(v-) = %q, want [%s]", got, user)
		}
		if err := pg.CanSelect(user, pass, ItemsTable); err != nil {
			t.Errorf("dynamic user cannot read %s: %v", ItemsTable, err)
		}
		validUntil := func() string {
			return pg.Query(t, "SELECT rolvaliduntil FROM pg_roles WHERE rolname = "+quoteLiteral(user))
		}
		before := validUntil()
		time.Sleep(1100 * time.Millisecond) // VALID UNTIL has a resolution of one second
		if _, err := c.Sys().Renew(s.LeaseID, 7200); err != nil {
			t.Fatalf("renew: %v", err)
		}
		if after := validUntil(); after == before {
			t.Errorf("renew left VALID UNTIL at %s", before)
		}
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		// Revocation is synchronous, but poll in case that changes.
		vaulttest.Eventually(t, 10*time.Second, func() error {
			if got := pg.Roles(t, "v-"); got != nil {
				return fmt.Errorf("roles %q remain after revoke", got)
			}
			return nil
		})
		if err := pg.CanLogin(user, pass); err == nil {
			t.Errorf("revoked user can still log in")
		}
	})

	t.Run("static", func(t *testing.T) {
		_, err := c.Logical().Write(Mount+"/static-roles/too-fast", map[string]any{
			"db_name": ConnectionName, "username": "nobody", "rotation_period": "4s",
		})
		var re *api.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "5 seconds") {
			t.Errorf("rotation_period 4s: err = %v, want 400 about 5 seconds", err)
		}

		SetupStaticRole(t, c, pg, "legacy-app", "legacy_app_user", MinRotationPeriod)
		creds := func() (string, int) {
			s, err := c.Logical().Read(Mount + "/static-creds/legacy-app")
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
		if err := pg.CanSelect("legacy_app_user", first, ItemsTable); err != nil {
			t.Fatalf("static user with Vault's password: %v", err)
		}
		start := time.Now()
		var second string
		vaulttest.Eventually(t, 15*time.Second, func() error {
			if second, _ = creds(); second == first {
				return errors.New("password not rotated yet")
			}
			return nil
		})
		t.Logf("rotated %v after the first read (rotation_period %s)", time.Since(start).Round(100*time.Millisecond), MinRotationPeriod)
		if err := pg.CanLogin("legacy_app_user", first); err == nil {
			t.Errorf("the old password still works after rotation")
		}
		if err := pg.CanSelect("legacy_app_user", second, ItemsTable); err != nil {
			t.Errorf("static user with the rotated password: %v", err)
		}
	})
}
