//go:build windows

package main

import (
	"context"
	"sync/atomic"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// asService runs run under the Windows service manager when rotor was
// started by it (sc.exe create / New-Service, see configs/windows), and
// directly otherwise. As a service there is no console: logs belong in
// -log-file, and a stop request cancels run's context.
func asService(run func(context.Context) int) int {
	if ok, err := svc.IsWindowsService(); err != nil || !ok {
		return run(context.Background())
	}
	h := &serviceHandler{run: run}
	if err := svc.Run("rotor", h); err != nil {
		return exitFailed
	}
	return int(h.code.Load())
}

// serviceHandler adapts serveService to svc.Handler.
type serviceHandler struct {
	run func(context.Context) int
	// code is set on svc's goroutine and read after svc.Run returns,
	// with no Go synchronisation in between (the dispatcher is a Win32
	// call): hence an atomic.
	code atomic.Int32
}

// Execute is called by svc.Run on its own goroutine; it returns when the
// agent has stopped, and svc then reports "stopped" with the exit code.
func (h *serviceHandler) Execute(_ []string, changes <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	requests := make(chan svcRequest)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			var c svc.ChangeRequest
			select {
			case c = <-changes:
			case <-stop:
				return
			}
			var r svcRequest
			switch c.Cmd {
			case svc.Interrogate:
				r = svcInterrogate
			case svc.Stop:
				r = svcStop
			case svc.Shutdown:
				r = svcShutdown
			default:
				continue
			}
			select {
			case requests <- r:
			case <-stop:
				return
			}
		}
	}()
	report := func(s svcState) {
		st := svc.Status{}
		switch s {
		case svcStartPending:
			st.State = svc.StartPending
		case svcRunning:
			st.State, st.Accepts = svc.Running, svc.AcceptStop|svc.AcceptShutdown
		case svcStopPending:
			st.State, st.WaitHint = svc.StopPending, uint32(svcStopHint.Milliseconds())
		}
		status <- st
	}
	code := serveService(context.Background(), requests, report, h.run)
	h.code.Store(int32(code))
	if code != exitOK {
		// A service-specific exit code: sc.exe query shows it, and the
		// service manager's recovery actions apply.
		return true, uint32(code)
	}
	return false, uint32(windows.NO_ERROR)
}
