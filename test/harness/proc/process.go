package proc

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is a started command, reaped in the background.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
	err  error         // cmd.Wait's result; read only after done is closed
}

// Start starts cmd as the leader of a process group of its own (Attr, unless
// cmd.SysProcAttr is already set) and reaps it in the background. It does
// not block beyond starting the process.
func Start(cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = Attr()
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// StartT is Start for a test: a failure to start fails t, and the process
// group is killed when the test ends if the process is still running.
func StartT(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	p, err := Start(cmd)
	if err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(p.KillGroup)
	return p
}

// Cmd returns the command p runs.
func (p *Process) Cmd() *exec.Cmd { return p.cmd }

// Pid returns the process id (also the id of its process group).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns cmd.Wait's result; it blocks until the process has exited.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// ExitCode returns the exit code (-1 when killed by a signal); it blocks
// until the process has exited.
func (p *Process) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Wait waits up to timeout for the process to exit and reports whether it did.
func (p *Process) Wait(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// Signal sends sig to the process alone (not its group), as a user's kill
// would: whatever it spawned is its own business. A process that has
// exited is not signalled.
func (p *Process) Signal(sig os.Signal) error {
	if p.Exited() {
		return os.ErrProcessDone
	}
	return p.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL to the process alone (a crash) and reaps it; what it
// spawned lives on until KillGroup or the test's cleanup.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// KillGroup sends SIGKILL to the whole process group (a power cut) and
// reaps the leader. The group is signalled only while the leader is
// unreaped, so its id cannot have been reused.
func (p *Process) KillGroup() {
	if !p.Exited() {
		_ = signalGroup(p.cmd.Process, syscall.SIGKILL)
	}
	<-p.done
}

// Stop asks the process to stop with sig, waits up to grace for it to
// exit, then kills its whole group and reaps it. It reports whether the
// process exited within grace.
func (p *Process) Stop(sig os.Signal, grace time.Duration) bool {
	_ = p.Signal(sig)
	if p.Wait(grace) {
		return true
	}
	p.KillGroup()
	return false
}

// CleanEnv returns the test's environment without VAULT_* and BAO_*
// variables, which would override an agent's configuration, followed by
// extra.
func CleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "BAO_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
