package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// TestMain removes the rotor binary the tests built (proc.Rotor).
func TestMain(m *testing.M) { proc.Main(m) }

// binary returns rotor built once per test run: these tests run it as
// users do.
func binary(t *testing.T) string { return proc.Rotor(t) }

// dbSetup is a Vault with the article's database role on a real
// PostgreSQL, and an AppRole login allowed to read it.
type dbSetup struct {
	srv  *vaulttest.Server
	root *api.Client
	pg   *pgtest.Postgres
	auth string // auto_auth block
	dir  string
}

func newDBSetup(t *testing.T, ttl, maxTTL, extraPolicy string) *dbSetup {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, ttl, maxTTL)
	vaulttest.WritePolicy(t, root, "app", `path "database/creds/myapp-readonly" { capabilities = ["read"] }`+extraPolicy)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "role_id"), []byte(roleID), 0o600)
	os.WriteFile(filepath.Join(dir, "secret_id"), []byte(secretID), 0o600)
	auth := fmt.Sprintf(`
vault {
  address = %q
  retry { num_retries = 2 }
}
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
`, srv.Addr, filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id"))
	return &dbSetup{srv: srv, root: root, pg: pg, auth: auth, dir: dir}
}

func (d *dbSetup) config(t *testing.T, body string) string {
	p := filepath.Join(d.dir, fmt.Sprintf("rotor-%d.hcl", time.Now().UnixNano()))
	if err := os.WriteFile(p, []byte(d.auth+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (d *dbSetup) users(t *testing.T) []string { return d.pg.Roles(t, "v-") }

// started is a rotor process.
type started struct {
	*proc.Process
	cmd *exec.Cmd
	out *vaulttest.Buffer
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	return startEnv(t, nil, args...)
}

func startEnv(t *testing.T, env []string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out := &vaulttest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	s := &started{Process: p, cmd: cmd, out: out}
	t.Cleanup(func() {
		p.KillGroup()
		checkNoLeaks(t, out.String())
		if t.Failed() {
			t.Logf("rotor output:\n%s", out.String())
		}
	})
	return s
}

// checkNoLeaks fails t if a line rotor logged holds a secret any test
// Vault of this process answered with (vaulttest.Leaks). Other lines are
// a child's output, which may print its secrets on purpose.
func checkNoLeaks(t *testing.T, out string) {
	t.Helper()
	var logged strings.Builder
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "time=") || strings.HasPrefix(l, `{"time":`) {
			logged.WriteString(l)
		}
	}
	if leaks := vaulttest.Leaks(logged.String()); len(leaks) > 0 {
		t.Errorf("rotor logged secrets Vault answered with: %v", leaks)
	}
}

func (s *started) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	if !s.Wait(timeout) {
		t.Fatalf("rotor still running after %v:\n%s", timeout, s.out)
	}
	return s.ExitCode()
}

const dbUserTpl = `{{ with secret "database/creds/myapp-readonly" }}{{ .Data.username }}{{ end }}`
const dbPassTpl = `{{ with secret "database/creds/myapp-readonly" }}{{ .Data.password }}{{ end }}`

func TestPipelineExecRunsPsqlAndLeavesNoUser(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	cfg := d.config(t, "")
	// The server's own psql: pgtest found it (or failed the test), so
	// this test never skips for want of a client on PATH.
	psql := filepath.Join(pgtest.BinDir(t), "psql")
	p := start(t, "exec", "-config", cfg,
		"-env", "PGUSER="+dbUserTpl, "-env", "PGPASSWORD="+dbPassTpl,
		"--", psql, "-h", d.pg.Host, "-p", fmt.Sprint(d.pg.Port), "-d", "myapp", "-Atc", "SELECT count(*) FROM "+pgtest.ItemsTable)
	if code := p.exitCode(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.out)
	}
	if !strings.Contains(p.out.String(), "\n1\n") {
		t.Fatalf("psql did not print the row count:\n%s", p.out)
	}
	if u := d.users(t); len(u) != 0 {
		t.Fatalf("database users left behind: %v", u)
	}
	// The command's status is rotor's.
	p = start(t, "exec", "-config", cfg, "--", "sh", "-c", "exit 7")
	if code := p.exitCode(t, 30*time.Second); code != 7 {
		t.Fatalf("exit %d, want 7", code)
	}
}

func TestSupervisedChildRestartsWithNewCredentials(t *testing.T) {
	d := newDBSetup(t, "4s", "9s", "")
	seen := filepath.Join(d.dir, "seen")
	cfg := d.config(t, fmt.Sprintf(`
env_template "PGUSER" { contents = %q }
env_template "PGPASSWORD" { contents = %q }
exec {
  command = ["sh", "-c", "echo \"$PGUSER $PGPASSWORD\" >> %s; trap 'exit 0' TERM; while :; do sleep 0.1; done"]
  restart_on_secret_changes = "always"
  restart_kill_timeout = "3s"
  debounce = "300ms"
}
`, dbUserTpl, dbPassTpl, seen))
	p := start(t, "agent", "-config", cfg)
	var lines []string
	vaulttest.Eventually(t, 40*time.Second, func() error {
		b, _ := os.ReadFile(seen)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) < 2 || lines[0] == "" {
			return fmt.Errorf("child started %d times", len(lines))
		}
		return nil
	})
	for _, l := range lines[:2] {
		f := strings.Fields(l)
		if len(f) != 2 || !strings.HasPrefix(f[0], "v-") {
			t.Fatalf("child environment: %q", l)
		}
	}
	if lines[0] == lines[1] {
		t.Fatal("the child was restarted with the same credentials")
	}
	last := strings.Fields(lines[len(lines)-1])
	if err := d.pg.CanSelect(last[0], last[1], pgtest.ItemsTable); err != nil {
		t.Fatalf("the child's credentials do not work: %v", err)
	}
	// SIGTERM goes to the child; rotor exits with its status.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exitCode(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d after the child exited 0", code)
	}
}

func TestInitModeWritesFilesOrNamesFailures(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	out := filepath.Join(d.dir, "out", "db.env")
	cfg := d.config(t, fmt.Sprintf(`
template {
  contents    = "PGUSER=%s\nPGPASSWORD=%s\n"
  destination = %q
}`, strings.ReplaceAll(dbUserTpl, `"`, `\"`), strings.ReplaceAll(dbPassTpl, `"`, `\"`), out))
	p := start(t, "agent", "-once", "-config", cfg)
	if code := p.exitCode(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "PGUSER=v-") {
		t.Fatalf("file incomplete: %q", b)
	}
	// exit_after_auth leaves the credentials for the app: not revoked.
	if len(d.users(t)) != 1 {
		t.Fatal("init mode must not revoke what it rendered")
	}
	denied := d.config(t, fmt.Sprintf(`
exit_after_auth = true
template {
  contents    = "{{ with secret \"secret/forbidden\" }}{{ .Data.data.x }}{{ end }}"
  destination = %q
}
template {
  contents    = "ok"
  destination = %q
}`, filepath.Join(d.dir, "denied"), filepath.Join(d.dir, "fine")))
	cmd := start(t, "agent", "-config", denied)
	code := cmd.exitCode(t, 60*time.Second)
	if code == 0 || !strings.Contains(cmd.out.String(), "1 of 2 templates failed") || !strings.Contains(cmd.out.String(), "permission denied") {
		t.Fatalf("exit %d; want non-zero naming the failed template:\n%s", code, cmd.out)
	}
}

func TestRevokeOnShutdownLeavesNoDatabaseUser(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", `
path "sys/leases/revoke" { capabilities = ["update"] }`)
	out := filepath.Join(d.dir, "db.env")
	cfg := d.config(t, fmt.Sprintf(`
revoke_on_shutdown = true
template {
  contents    = %q
  destination = %q
}`, dbUserTpl, out))
	p := start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "v-") {
			return errors.New("not rendered")
		}
		return nil
	})
	if len(d.users(t)) != 1 {
		t.Fatalf("users %v", d.users(t))
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exitCode(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if u := d.users(t); len(u) != 0 {
		t.Fatalf("database users left after stop: %v", u)
	}
	if !strings.Contains(p.out.String(), "leases revoked on shutdown") {
		t.Fatal("revocation not logged")
	}
}
