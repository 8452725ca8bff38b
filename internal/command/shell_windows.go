//go:build windows

package command

import (
	"os/exec"
	"syscall"
)

// setCmdLine gives a string command its raw cmd.exe command line
// (windowsCmdLine); an argv command keeps Go's quoting, which is what
// programs other than cmd.exe parse.
func setCmdLine(cmd *exec.Cmd, c Command) {
	if c.Shell == "" {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CmdLine = windowsCmdLine(c.Shell)
}
