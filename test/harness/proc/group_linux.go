//go:build linux

package proc

import (
	"os"
	"syscall"
)

// Attr returns the attributes of a group leader: its own process group,
// so signalGroup reaches what it spawns, and SIGKILL when the test binary dies
// without running its cleanups (go test -timeout panics, for one), so no
// server leaks.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to p's whole process group. Call it before p is reaped,
// so the group id cannot have been reused.
func signalGroup(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
