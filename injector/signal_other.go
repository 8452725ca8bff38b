//go:build !unix

package injector

import (
	"errors"
	"os"
	"strconv"
)

// SignalProcesses needs /proc and POSIX signals.
func SignalProcesses(procRoot, comm, sig string) (int, error) {
	return 0, errors.New("signalling processes by name needs Linux")
}

// CopySelf is for Linux containers.
func CopySelf(dest string) error { return errors.New("copy-self is for Linux containers") }

// ParentIdentity is the parent's pid.
func ParentIdentity() string { return strconv.Itoa(os.Getppid()) }
