package main

import (
	"context"
	"strconv"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// systemd tells systemd (Type=notify or notify-reload units) what rotor
// is doing, through go-systemd's sd_notify implementation. Outside
// systemd (no NOTIFY_SOCKET) every call does nothing.
type systemd struct{}

// send notifies state; failures are returned for the caller to log.
func (systemd) send(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// ready: the first token is held and every template has rendered (and,
// after a reload, the new configuration is applied).
func (s systemd) ready() error { return s.send(daemon.SdNotifyReady) }

// stopping: rotor is shutting down.
func (s systemd) stopping() error { return s.send(daemon.SdNotifyStopping) }

// reloading: a SIGHUP reload has begun. systemd 253 and later require
// MONOTONIC_USEC with RELOADING=1 for Type=notify-reload units, to tell
// this reload from an earlier one.
func (s systemd) reloading() error {
	msg := daemon.SdNotifyReloading
	if usec, ok := monotonicUsec(); ok {
		msg += "\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10)
	}
	return s.send(msg)
}

// runWatchdog pings systemd every half WatchdogSec, as
// sd_watchdog_enabled(3) advises, until ctx is done. Without a watchdog
// for this process (WATCHDOG_USEC unset, or WATCHDOG_PID naming another
// process) it returns at once.
func (s systemd) runWatchdog(ctx context.Context) error {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval <= 0 {
		return err
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		if err := s.send(daemon.SdNotifyWatchdog); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
