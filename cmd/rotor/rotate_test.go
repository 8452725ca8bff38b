package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// offlineConfig is an agent config that needs no Vault: rotor keeps
// retrying the login and serves its API meanwhile.
func offlineConfig(t *testing.T, extra string) (cfg, pidFile string) {
	t.Helper()
	dir := t.TempDir()
	pidFile = filepath.Join(dir, "rotor.pid")
	os.WriteFile(filepath.Join(dir, "token"), []byte("not-a-real-token"), 0o600)
	cfg = filepath.Join(dir, "rotor.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
pid_file = %q
vault { address = "http://127.0.0.1:1" }
auto_auth {
  method "token_file" {
    config = { token_file_path = %q }
  }
  sink "file" {
    config = { path = %q }
  }
}
%s`, pidFile, filepath.Join(dir, "token"), filepath.Join(dir, "sink"), extra)), 0o600)
	return cfg, pidFile
}

// rotor rotate signals only a rotor agent: a pid_file naming another
// process (stale, or planted) is refused, and that process gets nothing
// (SIGUSR1 would kill most programs).
func TestRotateRefusesAProcessThatIsNotRotor(t *testing.T) {
	sleep := exec.Command("sleep", "300")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	cfg, pidFile := offlineConfig(t, "")
	os.WriteFile(pidFile, []byte(strconv.Itoa(sleep.Process.Pid)+"\n"), 0o644)
	var stdout, stderr bytes.Buffer
	code := run([]string{"rotate", "-config", cfg}, &stdout, &stderr)
	if code == exitOK || !strings.Contains(stderr.String(), "not rotor: refusing to signal it") {
		t.Errorf("rotate exit %d, stderr %q: want a failure naming the process", code, stderr.String())
	}
	// Whatever killed sleep first says whether SIGUSR1 reached it: a
	// pending SIGUSR1 (10) is delivered before SIGTERM (15).
	sleep.Process.Signal(syscall.SIGTERM)
	sleep.Wait()
	if ws := sleep.ProcessState.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGTERM {
		t.Fatalf("sleep ended by %v, not by the test's SIGTERM: rotate signalled it", ws.Signal())
	}
}

// PID 1 (init, here) and a pid_file naming no process are refused with a
// clear message; the test's own process (a Go test binary) too.
func TestRotateRefusesPID1AndStalePids(t *testing.T) {
	cfg, pidFile := offlineConfig(t, "")
	for pid, want := range map[int]string{
		1:           "refusing to signal it",
		os.Getpid(): "refusing to signal it",
		1 << 22:     "no process", // above Linux's pid_max
	} {
		os.WriteFile(pidFile, []byte(strconv.Itoa(pid)), 0o644)
		var stdout, stderr bytes.Buffer
		if code := run([]string{"rotate", "-config", cfg}, &stdout, &stderr); code == exitOK || !strings.Contains(stderr.String(), want) {
			t.Errorf("pid %d: exit %d, stderr %q, want %q", pid, code, stderr.String(), want)
		}
	}
}

// A real agent, from another binary (a build of rotor, while this test
// runs as rotor.test) is recognised and rotates.
func TestRotateSignalsARunningAgent(t *testing.T) {
	cfg, pidFile := offlineConfig(t, "")
	p := start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) != strconv.Itoa(p.cmd.Process.Pid) {
			return errors.New("no pid_file yet")
		}
		return nil
	})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"rotate", "-config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("rotate exit %d: %s", code, stderr.String())
	}
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(p.out.String(), "SIGUSR1") {
			return errors.New("the agent did not get SIGUSR1")
		}
		return nil
	})
}

// The CLI talks to a guarded API: rotate sends the request header, and
// status and health work against a listener.
func TestCLIAgainstGuardedAPI(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "rotor.sock")
	cfg, _ := offlineConfig(t, fmt.Sprintf(`
listener "unix" {
  address       = %q
  enable_rotate = true
}`, sock))
	start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		var o, e bytes.Buffer
		if run([]string{"health", "-config", cfg}, &o, &e) != exitOK {
			return fmt.Errorf("health: %s%s", o.String(), e.String())
		}
		return nil
	})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"rotate", "-config", cfg, "database"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), `"rotating"`) {
		t.Fatalf("rotate over the API: exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	run([]string{"status", "-config", cfg}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), "ready: false   authenticated: false") {
		t.Fatalf("status: %s %s", stdout.String(), stderr.String())
	}
}

// The status table stays readable with error classes instead of text.
func TestStatusTableShowsErrorClasses(t *testing.T) {
	exit := 1
	st := ops.StatusView{
		Leases: []ops.LeaseView{{Path: "secret/app", Class: "static", Error: &ops.ErrorInfo{Class: "vault_denied"}}},
		Templates: []ops.TemplateView{
			{Name: "/etc/a", Error: &ops.ErrorInfo{Class: "template_execute", Line: 3, Col: 14, Function: "toJSON"}},
			{Name: "/etc/b", Rendered: true, CommandExit: &exit, CommandError: &ops.ErrorInfo{Class: ops.ClassCommandFailed}},
		},
	}
	var b bytes.Buffer
	printStatus(&b, st, time.Now())
	for _, want := range []string{"vault_denied", "template_execute at 3:14 in toJSON", "reload command_failed", "full text is in rotor's log"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
