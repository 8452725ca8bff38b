//go:build windows

package template

import (
	"os/exec"
	"sync/atomic"

	"golang.org/x/sys/windows"
)

// runGroup runs cmd in a Job Object; cancelling its context (the timeout)
// terminates the job: the command and every process it started, as a
// process-group kill does on Unix.
//
// A job rather than cmd.Process.Kill plus "taskkill /T /F": taskkill
// walks parent pids at kill time, so it misses a grandchild whose parent
// (cmd.exe /C) has already exited, and it is one more process to start
// while things are going wrong. A job holds every descendant whatever its
// parent did. The job has no KILL_ON_JOB_CLOSE: a command that finishes
// in time may leave a service it started running, as on Unix.
//
// The process is assigned right after it starts: a grandchild started in
// that instant (before cmd.exe has even parsed its line) would escape the
// job. If the job cannot be made or assigned (rotor itself in a job that
// forbids nesting, before Windows 8), the timeout kills the command alone.
func runGroup(cmd *exec.Cmd) error {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return cmd.Run()
	}
	defer windows.CloseHandle(job)
	// Cancel is read by exec's own goroutine once the command started, so
	// it is set before Start and learns of the job through an atomic.
	var inJob atomic.Bool
	cmd.Cancel = func() error {
		if inJob.Load() && windows.TerminateJobObject(job, 1) == nil {
			return nil
		}
		return cmd.Process.Kill()
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	inJob.Store(assignToJob(job, cmd.Process.Pid) == nil)
	return cmd.Wait()
}

// assignToJob puts process pid into job.
func assignToJob(job windows.Handle, pid int) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return windows.AssignProcessToJobObject(job, h)
}
