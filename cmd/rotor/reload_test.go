package main

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// rotor reload makes a running agent read its configuration again, as
// SIGHUP does (on Windows, where there is no SIGHUP, through a named
// event: verified by cross-build only).
func TestReloadCommandReloadsARunningAgent(t *testing.T) {
	cfg, pidFile := offlineConfig(t, "")
	p := start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if b, _ := os.ReadFile(pidFile); strings.TrimSpace(string(b)) != strconv.Itoa(p.cmd.Process.Pid) {
			return errors.New("no pid_file yet")
		}
		return nil
	})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"reload", "-config", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("reload exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "reload its configuration") {
		t.Errorf("reload said %q", stdout.String())
	}
	vaulttest.Eventually(t, 10*time.Second, func() error {
		out := p.out.String()
		if !strings.Contains(out, msgReload) || !strings.Contains(out, "configuration reloaded") {
			return errors.New("the agent did not reload")
		}
		return nil
	})
	// A pid_file naming a process that is not rotor is refused.
	os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o644)
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"reload", "-config", cfg}, &stdout, &stderr); code == exitOK || !strings.Contains(stderr.String(), "rotor reload: pid_file") {
		t.Errorf("reload of a non-agent: exit %d, stderr %q", code, stderr.String())
	}
}
