//go:build !windows

package command

import "os/exec"

// setCmdLine: Unix passes the argv as it is.
func setCmdLine(*exec.Cmd, Command) {}
