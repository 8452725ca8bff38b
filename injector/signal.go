//go:build unix

package injector

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// signalNumbers maps the names the reload annotations accept.
var signalNumbers = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2, "SIGTERM": syscall.SIGTERM,
	"SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT, "SIGWINCH": syscall.SIGWINCH,
}

// SignalProcesses sends sig to every process of the pod's shared process
// namespace whose name (/proc/PID/comm) is comm, other than the caller,
// reading procRoot ("/proc"). It is the reload command rotor's sidecar
// runs for the reload-signal annotation, and returns how many processes it
// signalled. No process is not a failure: the app has not started yet (the
// sidecar's first render comes before it) or is restarting, and it will
// read the files as it starts; failing would make rotor retry the command
// and signal the app right after it starts, before it may have set up its
// handler (SIGHUP's default action ends a process). It fails when a signal
// could not be sent.
func SignalProcesses(procRoot, comm, sig string) (int, error) {
	s, ok := signalNumbers[strings.ToUpper(sig)]
	if !ok {
		return 0, fmt.Errorf("unknown signal %q", sig)
	}
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	sent := 0
	var errs []error
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		if err := syscall.Kill(pid, s); err != nil {
			errs = append(errs, fmt.Errorf("pid %d: %w", pid, err))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}

// CopySelf copies the running binary to dest (mode 0755), for the app
// containers whose command rotor wraps. The copy is written beside dest
// and renamed, so a reader never sees half a binary.
func CopySelf(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	in, err := os.Open(self)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".rotor-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

// ParentIdentity names the process that started this one: its pid and,
// where /proc tells, its start time, so that a new rotor process that
// happens to get the same pid is still a new process.
func ParentIdentity() string {
	ppid := os.Getppid()
	id := strconv.Itoa(ppid)
	b, err := os.ReadFile(filepath.Join("/proc", id, "stat"))
	if err != nil {
		return id
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after its closing parenthesis are plain. starttime is field 22.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if f := strings.Fields(s[i+1:]); len(f) > 19 {
			return id + "@" + f[19]
		}
	}
	return id
}
