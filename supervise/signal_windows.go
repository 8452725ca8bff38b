//go:build windows

package supervise

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// Windows has no signals between processes: os.Process.Signal sends only
// Kill (os.Interrupt is "not supported by windows"). The one polite stop
// is a console control event, and it reaches only processes sharing
// rotor's console. So:
//
//   - the child starts in a new process group (CREATE_NEW_PROCESS_GROUP),
//     and a stop signal (any name but SIGKILL) becomes CTRL_BREAK_EVENT to
//     that group; Go programs see it as os.Interrupt, others as Ctrl-Break.
//     Without a console (rotor as a service) the event cannot be sent and
//     the child is killed at once.
//   - SIGKILL is TerminateProcess (os.Process.Kill).
//   - reload_signal (SIGHUP, SIGUSR1, ...) cannot be delivered: a secret
//     change restarts the child instead, with a warning.

// canReloadBySignal: reload_signal falls back to a restart.
const canReloadBySignal = false

// errNoSignal: the signal has no Windows equivalent.
var errNoSignal = errors.New("no such signal on Windows")

// prepare starts the child in a process group of its own, which console
// control events can address without reaching rotor.
func prepare(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// sendSignal stops the child: CTRL_BREAK_EVENT, or Kill for SIGKILL.
func sendSignal(p *os.Process, name string) error {
	if name == "SIGKILL" {
		return p.Kill()
	}
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}

// forward passes Ctrl-C or a console close rotor received on to the
// child as CTRL_BREAK_EVENT (its own group does not get rotor's).
func forward(p *os.Process, s os.Signal) error {
	switch s {
	case os.Interrupt, syscall.SIGTERM:
		return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
	case os.Kill:
		return p.Kill()
	}
	return errNoSignal
}
