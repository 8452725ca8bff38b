//go:build unix && !linux

package procgroup

import (
	"os"
	"syscall"
)

// Attr returns the attributes of a group leader (no Pdeathsig here).
func Attr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// Signal sends sig to p's whole process group.
func Signal(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
