package template

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"

	"github.com/rotorproject/rotor/internal/command"
)

// maxOutput bounds how much of a command's output is logged.
const maxOutput = 4096

type cmdResult struct {
	exitCode int
	output   string
	duration time.Duration
	err      error
}

// runCommand runs c (argv without a shell, or a string through /bin/sh
// -c) with a timeout; on timeout its whole process group is killed.
func runCommand(ctx context.Context, c command.Command, timeout time.Duration) cmdResult {
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := c.Resolve()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	res := cmdResult{duration: time.Since(start), err: err}
	if ctx.Err() == context.DeadlineExceeded {
		res.err = errors.New("timed out after " + timeout.String())
	}
	if cmd.ProcessState != nil {
		res.exitCode = cmd.ProcessState.ExitCode()
	}
	o := out.Bytes()
	if len(o) > maxOutput {
		o = append(o[:maxOutput:maxOutput], "...(truncated)"...)
	}
	res.output = string(bytes.TrimSpace(o))
	return res
}
