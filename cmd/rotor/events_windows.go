//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// eventSignal is a reload or rotate request that arrived as a named
// event, fed to the signal loop like a Unix signal.
type eventSignal string

func (e eventSignal) String() string { return string(e) }
func (eventSignal) Signal()          {}

// Signals rotor handles on Windows: Ctrl-C, Ctrl-Break and a console
// close stop it (Go delivers them as os.Interrupt and SIGTERM); reload and
// rotate arrive as named events (listenEvents).
var handled = []os.Signal{os.Interrupt, syscall.SIGTERM}

// sigReload and sigRotate are what listenEvents feeds the signal loop.
var (
	sigReload os.Signal = syscall.SIGHUP // handled as on Unix
	sigRotate os.Signal = eventSignal(actionRotate)
)

// Log messages of the two requests.
const (
	msgReload = "rotor reload: reloading the configuration"
	msgRotate = "rotor rotate: fetching every secret again"
)

// listenEvents creates this agent's reload and rotate events (eventName)
// and, until ctx is done, turns each one set into sigReload or sigRotate
// on ch. An event it cannot create is logged: rotor reload and rotor
// rotate then cannot reach this agent (rotor rotate SECRET still can,
// through the local API).
func listenEvents(ctx context.Context, ch chan<- os.Signal, log *slog.Logger) {
	handles, err := createEvents(os.Getpid())
	if err != nil {
		log.Warn("rotor reload and rotor rotate cannot reach this agent", "error", err)
		return
	}
	quit, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		closeHandles(handles)
		log.Warn("rotor reload and rotor rotate cannot reach this agent", "error", err)
		return
	}
	exited := make(chan struct{})
	// quit is closed only once the waiting goroutine is gone: a handle
	// closed while still in use could be reused by Windows for another
	// object, which SetEvent would then set.
	context.AfterFunc(ctx, func() {
		windows.SetEvent(quit)
		<-exited
		windows.CloseHandle(quit)
	})
	go func() {
		defer close(exited)
		defer closeHandles(handles) // reload and rotate
		waitOn := append(handles[:len(handles):len(handles)], quit)
		for {
			ev, err := windows.WaitForMultipleObjects(waitOn, false, windows.INFINITE)
			if err != nil {
				log.Warn("stopped listening for rotor reload and rotor rotate", "error", err)
				return
			}
			var s os.Signal
			switch ev - windows.WAIT_OBJECT_0 {
			case 0:
				s = sigReload
			case 1:
				s = sigRotate
			default:
				return // ctx is done
			}
			select {
			case ch <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// createEvents creates the reload and rotate events of the agent with
// pid, in that order: auto-reset, so one request is one wake-up.
func createEvents(pid int) ([]windows.Handle, error) {
	self, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString(eventSDDL(self.User.Sid.String()))
	if err != nil {
		return nil, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	var hs []windows.Handle
	for _, a := range []agentAction{actionReload, actionRotate} {
		h, err := createEvent(sa, pid, a)
		if err != nil {
			closeHandles(hs)
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// createEvent creates one event in the Global\ namespace, or in Local\
// when rotor may not create global objects. An event that exists already
// was made by someone else, to receive or fake requests: it is refused.
func createEvent(sa *windows.SecurityAttributes, pid int, a agentAction) (windows.Handle, error) {
	var last error
	for _, global := range []bool{true, false} {
		name := eventName(pid, a, global)
		p, err := windows.UTF16PtrFromString(name)
		if err != nil {
			return 0, err
		}
		h, err := windows.CreateEvent(sa, 0, 0, p)
		switch {
		case err == nil:
			return h, nil
		case errors.Is(err, windows.ERROR_ALREADY_EXISTS):
			windows.CloseHandle(h)
			return 0, fmt.Errorf("event %s exists already: another process made it; refusing to use it", name)
		}
		last = fmt.Errorf("create event %s: %w", name, err)
	}
	return 0, last
}

func closeHandles(hs []windows.Handle) {
	for _, h := range hs {
		windows.CloseHandle(h)
	}
}

// notifyAgent sets the event for action of the agent with pid. Only an
// agent creates events with its pid in the name, so a pid_file naming
// another program (stale, or planted) finds none and nothing is sent.
func notifyAgent(pid int, a agentAction) error {
	var err error
	for _, global := range []bool{true, false} {
		p, perr := windows.UTF16PtrFromString(eventName(pid, a, global))
		if perr != nil {
			return perr
		}
		var h windows.Handle
		h, err = windows.OpenEvent(windows.EVENT_MODIFY_STATE, false, p)
		if err == nil {
			defer windows.CloseHandle(h)
			return windows.SetEvent(h)
		}
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return fmt.Errorf("process %d: not allowed to ask it (run as an administrator or as the agent's account): %w", pid, err)
		}
	}
	return fmt.Errorf("no rotor agent with pid %d is listening (a stale pid_file?): %w", pid, err)
}
