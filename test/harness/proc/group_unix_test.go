//go:build unix

package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestStopKillsTheGroup starts a shell that ignores SIGTERM and spawns a
// child; Stop must end both once the grace has passed.
func TestStopKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	cmd := exec.Command("sh", "-c", `trap '' TERM; sleep 300 & echo $! > "$1"; wait`, "sh", pidFile)
	p := StartT(t, cmd)
	var child int
	deadline := time.Now().Add(10 * time.Second)
	for child == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 1 {
			if _, err := fmt.Sscan(string(b), &child); err != nil {
				child = 0
			}
		}
		if child == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the child's pid never appeared")
			}
			p.Wait(10 * time.Millisecond)
		}
	}
	if p.Stop(syscall.SIGTERM, 100*time.Millisecond) {
		t.Error("Stop reported a clean exit from a shell that ignores SIGTERM")
	}
	if !p.Exited() {
		t.Fatal("the leader is still running after Stop")
	}
	// The child is reaped by init once killed; poll until it is gone.
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(child, 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("child %d outlived Stop", child)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
}

func TestExitCodeAndSignal(t *testing.T) {
	p := StartT(t, exec.Command("sh", "-c", "exit 3"))
	if got := p.ExitCode(); got != 3 {
		t.Errorf("ExitCode = %d, want 3", got)
	}
	if err := p.Signal(syscall.SIGTERM); err != os.ErrProcessDone {
		t.Errorf("Signal after exit = %v, want os.ErrProcessDone", err)
	}
}
