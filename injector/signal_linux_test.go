package injector

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hupScript records each SIGHUP it gets in its output file (its first
// argument) and says when it is ready, so the test signals no process
// before its trap is set.
const hupScript = `#!/bin/sh
trap 'echo hup >> "$1"' HUP
trap 'echo usr1 >> "$1"' USR1
trap 'kill $pid 2>/dev/null; exit 0' TERM
echo ready >> "$1"
while :; do sleep 300 & pid=$!; wait $pid; done
`

// startNamed starts hupScript under name (its /proc/PID/comm) and waits
// until it is ready. It is stopped when the test ends.
func startNamed(t *testing.T, dir, name string) string {
	out, _ := startNamedPid(t, dir, name)
	return out
}

var pids = map[string]int{} // output file -> pid

func startNamedPid(t *testing.T, dir, name string) (string, int) {
	t.Helper()
	bin := filepath.Join(dir, name)
	if err := os.WriteFile(bin, []byte(hupScript), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".out")
	cmd := exec.Command(bin, out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 10*time.Second, name+" ready", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), "ready")
	})
	pids[out] = cmd.Process.Pid
	return out, cmd.Process.Pid
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSignalProcessesByName: only processes whose name is exactly the
// app's are signalled, not those whose names contain it or are contained
// in it; no such process is not an error (the app has not started).
func TestSignalProcessesByName(t *testing.T) {
	dir := t.TempDir()
	name := fmt.Sprintf("rts%d", os.Getpid()%100000) // unique on this host, short of comm's 15 bytes
	target := startNamed(t, dir, name)
	second := startNamed(t, filepath.Join(dir), name+"x")
	others := []string{second, startNamed(t, dir, "x"+name), startNamed(t, dir, name[:len(name)-1])}
	n, err := SignalProcesses("/proc", name, "sighup")
	if err != nil || n != 1 {
		t.Fatalf("signalled %d, %v; want 1", n, err)
	}
	waitFor(t, 10*time.Second, "the target's SIGHUP", func() bool {
		b, _ := os.ReadFile(target)
		return strings.Contains(string(b), "hup")
	})
	// A SIGUSR1 sent to each decoy after SignalProcesses returned is a
	// barrier: a SIGHUP it had got before is handled first (lower signal
	// numbers are delivered first, and the shell runs traps in order).
	for _, o := range others {
		pid := pids[o]
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the barrier", func() bool {
			b, _ := os.ReadFile(o)
			return strings.Contains(string(b), "usr1")
		})
		if b, _ := os.ReadFile(o); strings.Contains(string(b), "hup") {
			t.Errorf("%s was signalled", filepath.Base(o))
		}
	}
	if n, err := SignalProcesses("/proc", "rts-none-here", "SIGHUP"); n != 0 || err != nil {
		t.Errorf("no process: %d, %v; want 0, nil", n, err)
	}
	if _, err := SignalProcesses("/proc", name, "SIGFOO"); err == nil {
		t.Error("an unknown signal was accepted")
	}
}

// TestCopySelf: the running binary lands at dest, in a directory made
// for it, executable and byte for byte; a second copy replaces it.
func TestCopySelf(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "rotor", "bin", "rotor")
	for i := 0; i < 2; i++ {
		if err := CopySelf(dest); err != nil {
			t.Fatal(err)
		}
	}
	self, _ := os.Executable()
	want, _ := os.ReadFile(self)
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("copy differs from %s (%d vs %d bytes), %v", self, len(got), len(want), err)
	}
	st, _ := os.Stat(dest)
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", st.Mode())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".rotor-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
