// Package sdnotify speaks systemd's notify protocol (sd_notify(3)): rotor
// tells systemd when it is ready, reloading or stopping, what it is doing,
// and that it is still alive (the watchdog).
//
// A Notifier is built from the environment systemd sets for Type=notify
// services. Outside systemd there is no NOTIFY_SOCKET, New returns nil, and
// every method of a nil *Notifier does nothing, so callers never need to
// check whether they run under systemd.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// sendTimeout bounds one datagram. systemd reads its notify socket from its
// main loop; if that loop is stuck, a full socket queue would otherwise
// block Ready or Stopping, and with them rotor's start or shutdown.
const sendTimeout = 5 * time.Second

// Notifier sends state changes to systemd's notify socket. It holds no
// open socket: each message dials, writes one datagram and closes, so it is
// safe for concurrent use and needs no Close. A nil *Notifier is valid and
// sends nothing.
type Notifier struct {
	addr     *net.UnixAddr
	err      error         // set when NOTIFY_SOCKET names something we cannot reach
	watchdog time.Duration // from WATCHDOG_USEC, 0 when not for this process
}

// New reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once. It returns
// nil when NOTIFY_SOCKET is unset or empty (not running under systemd, or
// not as Type=notify). A NOTIFY_SOCKET starting with '@' names a socket in
// Linux's abstract namespace. An address rotor cannot use (systemd's
// "vsock:" form, a relative path) gives a Notifier whose methods all return
// that error, so the problem is reported where the caller first notifies.
//
// New does not unset the variables: a supervised child inherits them, and
// systemd's default NotifyAccess=main ignores what the child sends.
func New() *Notifier {
	return fromEnv(os.Getenv, os.Getpid())
}

// fromEnv is New with its inputs made explicit for tests.
func fromEnv(getenv func(string) string, pid int) *Notifier {
	sock := getenv("NOTIFY_SOCKET")
	if sock == "" {
		return nil
	}
	n := &Notifier{watchdog: watchdogInterval(getenv, pid)}
	switch sock[0] {
	case '/', '@':
		// Go's net package turns a leading '@' into the abstract
		// namespace's leading NUL byte, as systemd expects.
		n.addr = &net.UnixAddr{Name: sock, Net: "unixgram"}
	default:
		n.err = fmt.Errorf("sdnotify: NOTIFY_SOCKET %q: only a path or an @abstract unix socket is supported", sock)
	}
	return n
}

// watchdogInterval parses WATCHDOG_USEC. WATCHDOG_PID, when set, names the
// process the watchdog is for: systemd sets it so that a child which
// inherits the environment does not think the watchdog is its job.
func watchdogInterval(getenv func(string) string, pid int) time.Duration {
	usec, err := strconv.ParseUint(getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return 0
	}
	if p := getenv("WATCHDOG_PID"); p != "" {
		if got, err := strconv.Atoi(p); err != nil || got != pid {
			return 0
		}
	}
	// Durations are int64 nanoseconds; an absurd value saturates instead
	// of wrapping negative.
	if usec > uint64(1<<63-1)/uint64(time.Microsecond) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(usec) * time.Microsecond
}

// Ready tells systemd that start-up is complete (READY=1): for rotor, the
// first token is held and every template has rendered. Also send it after a
// reload (Reloading) has finished.
func (n *Notifier) Ready() error { return n.send("READY=1") }

// Reloading tells systemd that a reload has begun. systemd 253 and later
// require MONOTONIC_USEC with RELOADING=1 for Type=notify-reload, to tell
// this reload from an earlier one. Send Ready when the reload is done.
func (n *Notifier) Reloading() error {
	if n == nil {
		return nil
	}
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return n.send("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// Stopping tells systemd that rotor is shutting down (STOPPING=1).
func (n *Notifier) Stopping() error { return n.send("STOPPING=1") }

// Status sets the one-line status `systemctl status` shows (STATUS=...).
// Newlines in msg become spaces: a newline would start another assignment,
// letting the text of msg change rotor's state as systemd sees it.
func (n *Notifier) Status(msg string) error {
	msg = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
	return n.send("STATUS=" + msg)
}

// Watchdog sends one keep-alive ping (WATCHDOG=1).
func (n *Notifier) Watchdog() error { return n.send("WATCHDOG=1") }

// WatchdogInterval is the service's WatchdogSec as systemd passed it in
// WATCHDOG_USEC, or 0 when there is no watchdog for this process (unset,
// invalid, WATCHDOG_PID naming another process, or a nil Notifier: without
// a notify socket there is nowhere to send the pings).
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// RunWatchdog pings systemd at once and then every half interval, as
// sd_watchdog_enabled(3) advises, so one late tick does not get rotor
// killed. It blocks until ctx is done and then returns nil. It returns nil
// at once when there is no watchdog. A ping that fails ends it with that
// error: systemd would kill rotor for the silence anyway, and an error
// naming the cause is a better end than SIGABRT.
func (n *Notifier) RunWatchdog(ctx context.Context) error {
	interval := n.WatchdogInterval()
	if interval <= 0 {
		return nil
	}
	tick := time.NewTicker(max(interval/2, time.Millisecond))
	defer tick.Stop()
	for {
		if err := n.Watchdog(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// send writes state as one datagram. systemd reads each datagram as a
// whole message, so the assignments in state arrive together.
func (n *Notifier) send(state string) error {
	if n == nil {
		return nil
	}
	if n.err != nil {
		return n.err
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(sendTimeout)); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}
