package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen starts a fake systemd notify socket at a filesystem path and
// points NOTIFY_SOCKET at it. The directory comes from os.MkdirTemp("",
// ...) rather than t.TempDir because sun_path holds only 108 bytes and
// t.TempDir's names, built from the test name, can exceed that.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return listenAt(t, filepath.Join(dir, "notify"))
}

// listenAt binds a unixgram socket at name (a path, or @abstract) and sets
// NOTIFY_SOCKET to it.
func listenAt(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	return conn
}

// recv returns the next datagram, failing the test if none comes.
func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return string(buf[:n])
}

func TestNilNotifierIsNoOp(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "30000000")
	n := New()
	if n != nil {
		t.Fatalf("New() = %+v without NOTIFY_SOCKET, want nil", n)
	}
	for name, call := range map[string]func() error{
		"Ready":       n.Ready,
		"Reloading":   n.Reloading,
		"Stopping":    n.Stopping,
		"Watchdog":    n.Watchdog,
		"Status":      func() error { return n.Status("x") },
		"RunWatchdog": func() error { return n.RunWatchdog(context.Background()) },
	} {
		if err := call(); err != nil {
			t.Errorf("%s on nil Notifier: %v", name, err)
		}
	}
	if got := n.WatchdogInterval(); got != 0 {
		t.Errorf("WatchdogInterval on nil Notifier = %v, want 0", got)
	}
}

func TestDatagrams(t *testing.T) {
	conn := listen(t)
	n := New()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"ready", n.Ready, "READY=1"},
		{"stopping", n.Stopping, "STOPPING=1"},
		{"watchdog", n.Watchdog, "WATCHDOG=1"},
		{"status", func() error { return n.Status("rendering 3 templates") }, "STATUS=rendering 3 templates"},
		{"status newlines", func() error { return n.Status("a\nREADY=1\r\nb\rc") }, "STATUS=a READY=1 b c"},
		{"status empty", func() error { return n.Status("") }, "STATUS="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, conn); got != tc.want {
				t.Errorf("datagram = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReloadingSendsMonotonicUsec(t *testing.T) {
	conn := listen(t)
	n := New()
	before, err := monotonicUsec()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	after, _ := monotonicUsec()

	got := recv(t, conn)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") {
		t.Fatalf("datagram = %q, want RELOADING=1\\nMONOTONIC_USEC=<n>", got)
	}
	usec, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC: %v", err)
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC = %d, want within [%d, %d]", usec, before, after)
	}
	// CLOCK_MONOTONIC never runs ahead of the time since boot, so a
	// wall-clock (CLOCK_REALTIME) value would fail here.
	if raw, err := os.ReadFile("/proc/uptime"); err == nil {
		up, err := strconv.ParseFloat(strings.Fields(string(raw))[0], 64)
		if err == nil && float64(usec) > (up+1)*1e6 {
			t.Errorf("MONOTONIC_USEC = %d is past the uptime %.2fs: not CLOCK_MONOTONIC", usec, up)
		}
	}
}

func TestAbstractSocket(t *testing.T) {
	name := fmt.Sprintf("@rotor-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	conn := listenAt(t, name)
	n := New()
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, conn); got != "READY=1" {
		t.Errorf("datagram = %q, want READY=1", got)
	}
	// The abstract namespace leaves nothing on disk.
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("stat %s: %v, want not exist", name, err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	pid := os.Getpid()
	for _, tc := range []struct {
		name      string
		usec, pid string
		want      time.Duration
	}{
		{"unset", "", "", 0},
		{"30s", "30000000", "", 30 * time.Second},
		{"this pid", "15000000", strconv.Itoa(pid), 15 * time.Second},
		{"other pid", "15000000", strconv.Itoa(pid + 1), 0},
		{"bad pid", "15000000", "init", 0},
		{"zero", "0", "", 0},
		{"negative", "-5", "", 0},
		{"not a number", "30s", "", 0},
		{"huge", "18446744073709551615", "", 0}, // overflows int63: refused
		{"largest", "9223372036854775807", "", time.Duration(1<<63 - 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listen(t)
			t.Setenv("WATCHDOG_USEC", tc.usec)
			t.Setenv("WATCHDOG_PID", tc.pid)
			if got := New().WatchdogInterval(); got != tc.want {
				t.Errorf("WatchdogInterval() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRunWatchdogPingsUntilCancelled(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "20000") // 20ms: pings every 10ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := New()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx) }()
	for range 3 {
		if got := recv(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("datagram = %q, want WATCHDOG=1", got)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunWatchdog after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunWatchdog did not return after cancel")
	}
}

func TestRunWatchdogWithoutWatchdogReturnsAtOnce(t *testing.T) {
	listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // never cancelled before the call: it must not block
	if err := New().RunWatchdog(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSendErrors(t *testing.T) {
	t.Run("no listener", func(t *testing.T) {
		dir, err := os.MkdirTemp("", "sd")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "absent"))
		t.Setenv("WATCHDOG_USEC", "1000000")
		t.Setenv("WATCHDOG_PID", "")
		n := New()
		if err := n.Ready(); err == nil {
			t.Error("Ready to a missing socket: no error")
		}
		if err := n.RunWatchdog(context.Background()); err == nil {
			t.Error("RunWatchdog to a missing socket: no error")
		}
	})
	t.Run("unsupported address", func(t *testing.T) {
		t.Setenv("NOTIFY_SOCKET", "vsock:2:1234")
		n := New()
		if n == nil {
			t.Fatal("New() = nil for a set NOTIFY_SOCKET")
		}
		if err := n.Stopping(); err == nil || !strings.Contains(err.Error(), "vsock:2:1234") {
			t.Errorf("Stopping() = %v, want an error naming the address", err)
		}
	})
}
