//go:build linux

package procgroup

import (
	"os"
	"syscall"
)

// Attr returns the attributes of a group leader: its own process group,
// so Signal reaches what it spawns, and SIGKILL when the test binary dies
// without running its cleanups (go test -timeout panics, for one), so no
// server leaks.
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// Signal sends sig to p's whole process group. Call it before p is reaped,
// so the group id cannot have been reused.
func Signal(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
