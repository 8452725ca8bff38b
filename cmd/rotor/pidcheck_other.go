//go:build unix && !linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// signalRotor sends sig to pid if ps(1) shows it is a rotor agent: its
// command's base name is "rotor" (or this command's own name) and its
// first argument "agent" or "exec". Without /proc and pidfds the check
// and the signal are two steps: a process exiting in between and its
// number being reused at once could still be signalled.
func signalRotor(pid int, sig syscall.Signal) error {
	out, err := exec.Command("ps", "-o", "args=", "-p", strconv.Itoa(pid)).Output()
	if err != nil {
		return fmt.Errorf("no process %d is running (a stale pid_file?)", pid)
	}
	args := strings.Fields(string(out))
	self, _ := os.Executable()
	if len(args) == 0 || (filepath.Base(args[0]) != "rotor" && filepath.Base(args[0]) != filepath.Base(self)) {
		return fmt.Errorf("process %d is not rotor: refusing to signal it (is the pid_file stale?)", pid)
	}
	if len(args) < 2 || (args[1] != "agent" && args[1] != "exec") {
		return fmt.Errorf("process %d is rotor but not an agent: refusing to signal it", pid)
	}
	return syscall.Kill(pid, sig)
}
