//go:build unix

package supervise

import (
	"os"
	"os/exec"
	"syscall"
)

// canReloadBySignal: reload_signal is delivered as configured.
const canReloadBySignal = true

// prepare sets up cmd before it starts: on Unix the child stays in rotor's
// process group (a terminal's Ctrl-C reaches both, as with Vault Agent).
func prepare(*exec.Cmd) {}

// sendSignal sends the signal named name (SIGTERM when unknown).
func sendSignal(p *os.Process, name string) error { return p.Signal(signalByName(name)) }

// forward passes a signal rotor received on to the child.
func forward(p *os.Process, s os.Signal) error { return p.Signal(s) }

func signalByName(name string) syscall.Signal {
	switch name {
	case "SIGHUP":
		return syscall.SIGHUP
	case "SIGINT":
		return syscall.SIGINT
	case "SIGQUIT":
		return syscall.SIGQUIT
	case "SIGKILL":
		return syscall.SIGKILL
	case "SIGUSR1":
		return syscall.SIGUSR1
	case "SIGUSR2":
		return syscall.SIGUSR2
	}
	return syscall.SIGTERM
}
