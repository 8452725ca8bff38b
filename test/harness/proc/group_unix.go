//go:build unix && !linux

package proc

import (
	"os"
	"syscall"
)

// Attr returns the attributes of a group leader (no Pdeathsig here).
func Attr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to p's whole process group.
func signalGroup(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
