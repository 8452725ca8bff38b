//go:build windows

package proc

import (
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// Attr returns the attributes of a process in a new process group.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// signalGroup stops p: Windows cannot signal another process, so any signal
// kills it (its own children are not reached).
func signalGroup(p *os.Process, _ syscall.Signal) error { return p.Kill() }
