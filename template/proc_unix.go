//go:build unix

package template

import (
	"os/exec"
	"syscall"
)

// runGroup runs cmd in a process group of its own; cancelling its context
// (the timeout) kills the whole group, so a shell's children die with it.
func runGroup(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd.Run()
}
