package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/command"
)

func waitFor(t *testing.T, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lines(p string) []string {
	b, _ := os.ReadFile(p)
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func run(t *testing.T, cfg Spec) (*Child, chan error, context.CancelFunc) {
	c := New(Options{Spec: cfg, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, done, cancel
}

func TestBurstOfChangesGivesOneRestart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	c, _, _ := run(t, Spec{
		Command:                command.Command{Argv: []string{"sh", "-c", fmt.Sprintf(`echo "start $SECRET" >> %s; trap 'exit 0' TERM; while :; do sleep 0.05; done`, log)}},
		RestartOnSecretChanges: "always", StopSignal: "SIGTERM", KillTimeout: 5 * time.Second, Debounce: 300 * time.Millisecond,
	})
	c.SetEnv(map[string]string{"SECRET": "one"})
	time.Sleep(100 * time.Millisecond)
	if len(lines(log)) != 0 {
		t.Fatal("the child started before every template rendered")
	}
	c.Ready()
	waitFor(t, 5*time.Second, func() bool { return len(lines(log)) == 1 })
	for _, v := range []string{"two", "three", "four"} {
		c.SetEnv(map[string]string{"SECRET": v})
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, 5*time.Second, func() bool { return len(lines(log)) == 2 })
	time.Sleep(600 * time.Millisecond)
	got := lines(log)
	if len(got) != 2 || got[0] != "start one" || got[1] != "start four" {
		t.Fatalf("starts: %q", got)
	}
}

func TestReloadSignalInsteadOfRestart(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	c, _, _ := run(t, Spec{
		Command:                command.Command{Argv: []string{"sh", "-c", fmt.Sprintf(`echo start >> %[1]s; trap 'echo hup >> %[1]s' HUP; trap 'exit 0' TERM; while :; do sleep 0.05; done`, log)}},
		RestartOnSecretChanges: "always", StopSignal: "SIGTERM", KillTimeout: 5 * time.Second, Debounce: 50 * time.Millisecond,
		ReloadSignal: "SIGHUP",
	})
	c.SetEnv(map[string]string{"A": "1"})
	c.Ready()
	waitFor(t, 5*time.Second, func() bool { return len(lines(log)) == 1 })
	c.SetEnv(map[string]string{"A": "2"})
	waitFor(t, 5*time.Second, func() bool { return len(lines(log)) == 2 })
	if got := lines(log); got[1] != "hup" {
		t.Fatalf("got %q", got)
	}
}

func TestExitCodeAndKillAfterTimeout(t *testing.T) {
	_, done, _ := func() (*Child, chan error, context.CancelFunc) {
		c, d, cancel := run(t, Spec{Command: command.Command{Shell: "exit 42"}, StopSignal: "SIGTERM", KillTimeout: time.Second, Debounce: time.Second})
		c.Ready()
		return c, d, cancel
	}()
	select {
	case err := <-done:
		if code, ok := IsExit(err); !ok || code != 42 {
			t.Fatalf("got %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("no exit")
	}
	// A child that ignores the stop signal is killed after the timeout.
	c, done2, cancel := run(t, Spec{Command: command.Command{Argv: []string{"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"}},
		StopSignal: "SIGTERM", KillTimeout: 300 * time.Millisecond, Debounce: time.Second})
	c.Ready()
	waitFor(t, 5*time.Second, c.Started)
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	err := <-done2
	done2 <- err
	if err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("stop: %v after %v", err, time.Since(start))
	}
}
