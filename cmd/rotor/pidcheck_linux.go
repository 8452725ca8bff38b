package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// signalRotor sends sig to pid if, and only if, pid is a rotor agent. The
// pid_file is only a hint: it may be stale (the number reused by another
// process) or written by someone else, and SIGUSR1 kills most programs.
//
// The process is first pinned with a pidfd, then checked, then signalled
// through the pidfd: if it exits and its number is reused in between, the
// signal fails instead of reaching the newcomer.
func signalRotor(pid int, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("no process %d is running (a stale pid_file?)", pid)
	case errors.Is(err, unix.ENOSYS):
		fd = -1 // Linux before 5.3: check, then kill
	case err != nil:
		return fmt.Errorf("process %d: %w", pid, err)
	default:
		defer unix.Close(fd)
	}
	if err := checkRotor(pid); err != nil {
		return err
	}
	if fd < 0 {
		return syscall.Kill(pid, sig)
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}

// checkRotor reports why pid is not a rotor agent (nil if it is). The rule,
// from /proc/<pid>/exe and /proc/<pid>/cmdline:
//   - the executable is this command's own (same inode), or a file named
//     "rotor" (another install, or this one replaced by an upgrade), and
//   - its first argument is "agent" or "exec", the commands that hold
//     secrets and handle SIGUSR1.
//
// PID 1 passes only when it is rotor itself (a container's entrypoint).
func checkRotor(pid int) error {
	procExe := fmt.Sprintf("/proc/%d/exe", pid)
	exe, err := os.Readlink(procExe)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no process %d is running (a stale pid_file?)", pid)
		}
		return fmt.Errorf("cannot tell whether process %d is rotor (%v): refusing to signal it (run rotor rotate as the agent's user)", pid, err)
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Errorf("cannot read process %d's command line (%v): refusing to signal it", pid, err)
	}
	args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
	sameBinary := false
	if self, err := os.Executable(); err == nil {
		a, err1 := os.Stat(self)
		b, err2 := os.Stat(procExe) // follows the magic link even to a deleted file
		sameBinary = err1 == nil && err2 == nil && os.SameFile(a, b)
	}
	if !sameBinary && filepath.Base(exe) != "rotor" {
		return fmt.Errorf("process %d is %s, not rotor: refusing to signal it (is the pid_file stale?)", pid, exe)
	}
	if len(args) < 2 || (args[1] != "agent" && args[1] != "exec") {
		return fmt.Errorf("process %d is rotor but not an agent (%q): refusing to signal it", pid, strings.Join(args[1:min(len(args), 2)], " "))
	}
	return nil
}
