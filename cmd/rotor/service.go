package main

import (
	"context"
	"time"
)

// The Windows service manager drives a service through states and asks
// it to stop. This is that protocol as plain logic, so that Linux tests
// check it with a fake manager; service_windows.go connects it to
// golang.org/x/sys/windows/svc.

// svcState is what rotor reports to the service manager.
type svcState int

const (
	svcStartPending svcState = iota + 1
	svcRunning               // accepts Stop and Shutdown
	svcStopPending           // stopping: revoking, saving state
)

func (s svcState) String() string {
	switch s {
	case svcStartPending:
		return "start-pending"
	case svcRunning:
		return "running"
	case svcStopPending:
		return "stop-pending"
	}
	return "unknown"
}

// svcRequest is what the service manager asks.
type svcRequest int

const (
	svcInterrogate svcRequest = iota + 1 // report the current state again
	svcStop                              // sc.exe stop, Stop-Service
	svcShutdown                          // the machine shuts down
)

// svcStopHint is how long rotor tells the manager a stop may take: the
// agent revokes leases (revoke_on_shutdown) and saves its state on the
// way out, and each Vault call has its own timeout.
const svcStopHint = 30 * time.Second

// serveService runs run as a service: it reports start-pending, then
// running once run has started; a stop or shutdown request reports
// stop-pending and cancels run's context. It returns run's exit code when
// run returns, asked to or on its own (a failed start, a fatal error);
// the caller reports the final "stopped" state with that code. Requests
// keep being answered while run winds down, so an interrogation during a
// long stop is not left hanging.
func serveService(ctx context.Context, requests <-chan svcRequest, report func(svcState), run func(context.Context) int) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	report(svcStartPending)
	done := make(chan int, 1)
	go func() { done <- run(ctx) }()
	state := svcRunning
	report(state)
	for {
		select {
		case code := <-done:
			return code
		case r := <-requests:
			switch r {
			case svcInterrogate:
				report(state)
			case svcStop, svcShutdown:
				if state != svcStopPending {
					state = svcStopPending
					report(state)
					cancel()
				}
			}
		}
	}
}
