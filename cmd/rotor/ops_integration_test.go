package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// Operations tests of the binary: state reuse, status and rotate, SIGHUP
// reload, systemd notify. The helpers are in integration_test.go.

func TestRestartsReuseTokenAndLeases(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	out, reloads, stateDir := filepath.Join(d.dir, "db.env"), filepath.Join(d.dir, "reloads"), filepath.Join(d.dir, "state")
	cfg := d.config(t, fmt.Sprintf(`
state {
  dir     = %q
  key_env = "ROTOR_STATE_KEY"
}
template {
  contents    = %q
  destination = %q
  command     = "echo reload >> %s"
}`, stateDir, dbUserTpl+":"+dbPassTpl, out, reloads))
	env := []string{"ROTOR_STATE_KEY=test-state-key-of-16+-bytes"}
	run := func() *started {
		began := time.Now()
		p := startEnv(t, env, "agent", "-config", cfg)
		vaulttest.Eventually(t, 30*time.Second, func() error {
			if !strings.Contains(p.out.String(), "all templates rendered") {
				return errors.New("not rendered")
			}
			return nil
		})
		// Wait for the state saver to write this run's state (it saves
		// shortly after each token), then stop as an orchestrator would.
		vaulttest.Eventually(t, 10*time.Second, func() error {
			if st, err := os.Stat(filepath.Join(stateDir, "rotor.state")); err != nil || st.ModTime().Before(began) {
				return errors.New("the state file is not this run's yet")
			}
			return nil
		})
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.exitCode(t, 30*time.Second); code != 0 {
			t.Fatalf("exit %d:\n%s", code, p.out)
		}
		return p
	}
	firstLogin := loginAccessors(run().out.String())
	if len(firstLogin) != 1 {
		t.Fatalf("the first run logged %d logins (accessors %q), want 1", len(firstLogin), firstLogin)
	}
	first, _ := os.ReadFile(out)
	st, _ := os.Stat(out)
	if raw, _ := os.ReadFile(filepath.Join(stateDir, "rotor.state")); strings.Contains(string(raw), strings.Split(string(first), ":")[1]) {
		t.Fatal("the state file holds the password in clear")
	}
	for i := range 5 {
		p := run()
		if !strings.Contains(p.out.String(), "reusing the saved token and leases") {
			t.Fatalf("restart %d did not reuse the state:\n%s", i+1, p.out)
		}
		// The resumed token is announced as "authenticated" too: a new
		// login would show another accessor.
		if got := loginAccessors(p.out.String()); len(got) != 1 || got[0] != firstLogin[0] {
			t.Fatalf("restart %d authenticated with accessors %q, want only the saved token's %q", i+1, got, firstLogin[0])
		}
	}
	if u := d.users(t); len(u) != 1 {
		t.Fatalf("5 restarts left %d database users, want 1: %v", len(u), u)
	}
	now, _ := os.ReadFile(out)
	st2, _ := os.Stat(out)
	if string(now) != string(first) || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("a restart rewrote the credentials file")
	}
	if n := strings.Count(string(must(os.ReadFile(reloads))), "reload"); n != 1 {
		t.Fatalf("reload ran %d times over 6 starts, want 1", n)
	}
	// A corrupt state file is reported and ignored; nothing is lost.
	os.WriteFile(filepath.Join(stateDir, "rotor.state"), []byte("garbage"), 0o600)
	p := run()
	if !strings.Contains(p.out.String(), "state file ignored") {
		t.Fatalf("corrupt state not reported:\n%s", p.out)
	}
	if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "v-") {
		t.Fatal("nothing rendered after a corrupt state file")
	}
	// A state file written with another key is foreign: ignored too.
	q := startEnv(t, []string{"ROTOR_STATE_KEY=another-key-of-16+-bytes"}, "agent", "-config", cfg)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(q.out.String(), "written with another key") {
			return errors.New("foreign state not reported")
		}
		return nil
	})
}

func must(b []byte, _ error) []byte { return b }

// loginAccessors lists the accessors of the tokens a run's log says it
// authenticated with (a login, or a saved token resumed), in order.
func loginAccessors(out string) []string {
	var accessors []string
	for _, m := range authenticatedLine.FindAllStringSubmatch(out, -1) {
		accessors = append(accessors, m[1])
	}
	return accessors
}

var authenticatedLine = regexp.MustCompile(`(?m)\bmsg=authenticated\b.*?\baccessor=(\S+)`)

func TestStatusAndRotateCommands(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", `
path "sys/leases/revoke" { capabilities = ["update"] }`)
	out := filepath.Join(d.dir, "db.env")
	sock := filepath.Join(d.dir, "rotor.sock")
	cfg := d.config(t, fmt.Sprintf(`
listener "unix" {
  address       = %q
  enable_rotate = true
}
template {
  contents    = %q
  destination = %q
}`, sock, dbUserTpl, out))
	start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "v-") {
			return errors.New("not rendered")
		}
		return nil
	})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"status", "-config", cfg}, &stdout, &stderr); code != 0 {
		t.Fatalf("status exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"ready: true", "database/creds/myapp-readonly", "lease", "renew", out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, stdout.String())
		}
	}
	first, _ := os.ReadFile(out)
	stdout.Reset()
	if code := run([]string{"rotate", "-config", cfg, "database/creds"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), `"rotating": 1`) {
		t.Fatalf("rotate exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if b, _ := os.ReadFile(out); string(b) == string(first) {
			return errors.New("not rotated")
		}
		return nil
	})
	// The replaced lease is revoked: only the new user remains.
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if u := d.users(t); len(u) != 1 {
			return fmt.Errorf("users %v", u)
		}
		return nil
	})
}

func TestSIGHUPReloadsTemplatesWithoutReissuing(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	d.root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "kv-value"})
	vaulttest.WritePolicy(t, d.root, "app", `path "database/creds/myapp-readonly" { capabilities = ["read"] }
path "secret/data/app" { capabilities = ["read"] }`)
	db, kv, reloads := filepath.Join(d.dir, "db.env"), filepath.Join(d.dir, "kv.txt"), filepath.Join(d.dir, "reloads")
	dbTemplate := fmt.Sprintf(`
template {
  contents    = %q
  destination = %q
  command     = "echo reload >> %s"
}`, dbUserTpl, db, reloads)
	cfg := d.config(t, dbTemplate)
	p := start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if b, _ := os.ReadFile(db); !strings.HasPrefix(string(b), "v-") {
			return errors.New("not rendered")
		}
		return nil
	})
	st, _ := os.Stat(db)
	// A broken config is refused with its problems; the old one runs on.
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(body, []byte("\ntemplate {\n  destinaton = \"x\"\n}\n")...), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(p.out.String(), "new configuration refused") || !strings.Contains(p.out.String(), `destinaton`) {
			return errors.New("broken config not reported")
		}
		return nil
	})
	// Add a template: it renders; the database secret is not re-issued,
	// its file not rewritten, its reload command not run again.
	os.WriteFile(cfg, append(body, []byte(fmt.Sprintf(`
template {
  contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
}
`, kv))...), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if b, _ := os.ReadFile(kv); string(b) != "kv-value" {
			return errors.New("added template not rendered")
		}
		return nil
	})
	if u := d.users(t); len(u) != 1 {
		t.Fatalf("reload re-issued database credentials: users %v", u)
	}
	if st2, _ := os.Stat(db); !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("reload rewrote the unchanged template's file")
	}
	if n := strings.Count(string(must(os.ReadFile(reloads))), "reload"); n != 1 {
		t.Fatalf("reload command ran %d times, want 1", n)
	}
	select {
	case <-p.Done():
		t.Fatalf("rotor exited (%v):\n%s", p.Err(), p.out)
	default:
	}
}

func TestSystemdNotify(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sockPath := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msgs := make(chan string, 32)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(want string) string {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if strings.HasPrefix(m, "WATCHDOG=1") {
					continue
				}
				if !strings.Contains(m, want) {
					t.Fatalf("notify message %q, want %q", m, want)
				}
				return m
			case <-time.After(30 * time.Second):
				t.Fatalf("no %q notification", want)
			}
		}
	}
	cfg := d.config(t, fmt.Sprintf(`
template {
  contents    = %q
  destination = %q
}`, dbUserTpl, filepath.Join(d.dir, "db.env")))
	p := startEnv(t, []string{"NOTIFY_SOCKET=" + sockPath, "WATCHDOG_USEC=2000000"}, "agent", "-config", cfg)
	next("READY=1")
	p.cmd.Process.Signal(syscall.SIGHUP)
	if m := next("RELOADING=1"); !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Fatalf("RELOADING without MONOTONIC_USEC: %q", m)
	}
	next("READY=1")
	// The watchdog is fed (every WatchdogSec/2).
	deadline := time.After(5 * time.Second)
	for fed := false; !fed; {
		select {
		case m := <-msgs:
			fed = strings.HasPrefix(m, "WATCHDOG=1")
		case <-deadline:
			t.Fatal("watchdog not fed")
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if code := p.exitCode(t, 20*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0:\n%s", code, p.out)
	}
}
