package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/command"
)

// fakeProcs stands in for exec: each spawn is a fake process that records
// its environment and the signals it gets, and exits on SIGTERM (unless
// told to ignore it) or SIGKILL. No real process, so the supervisor runs
// in a synctest bubble with fake time.
type fakeProcs struct {
	mu         sync.Mutex
	procs      []*fakeProc
	ignoreTerm bool
}

type fakeProc struct {
	env     []string
	signals []os.Signal
	exit    func(code int)
}

func (f *fakeProcs) spawn(_ command.Command, env []string) (*proc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp := &fakeProc{env: env}
	p := &proc{pid: 1000 + len(f.procs), done: make(chan struct{})}
	var once sync.Once
	fp.exit = func(code int) { once.Do(func() { p.code = code; close(p.done) }) }
	p.signal = func(s os.Signal) error {
		f.mu.Lock()
		fp.signals = append(fp.signals, s)
		ignore := f.ignoreTerm
		f.mu.Unlock()
		if s == syscall.SIGKILL || (s == syscall.SIGTERM && !ignore) {
			fp.exit(128 + int(s.(syscall.Signal)))
		}
		return nil
	}
	p.send = func(name string) error { return p.signal(fakeSignals[name]) }
	f.procs = append(f.procs, fp)
	return p, nil
}

// fakeSignals are the signals the tests name (syscall has these on every
// platform, so the tests vet for Windows too).
var fakeSignals = map[string]os.Signal{"SIGTERM": syscall.SIGTERM, "SIGKILL": syscall.SIGKILL, "SIGHUP": syscall.SIGHUP,
	"SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT}

// started returns the value of name in each started process's environment.
func (f *fakeProcs) started(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.procs {
		v := ""
		for _, kv := range p.env {
			if k, val, _ := strings.Cut(kv, "="); k == name {
				v = val
			}
		}
		out = append(out, v)
	}
	return out
}

func (f *fakeProcs) signalsOf(i int) []os.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.procs[i].signals)
}

// runFake runs a supervisor with fake processes; stop ends Run and
// returns its result.
func runFake(t *testing.T, cfg Spec) (*Child, *fakeProcs, func() error) {
	f := &fakeProcs{}
	c := New(Options{Spec: cfg, Env: []string{"PATH=/bin"}, Logger: slog.New(slog.DiscardHandler)})
	c.spawn = f.spawn
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return c, f, func() error { cancel(); return <-done }
}

func execCfg() Spec {
	return Spec{Command: command.Command{Argv: []string{"app"}}, RestartOnSecretChanges: "always",
		StopSignal: "SIGTERM", KillTimeout: 5 * time.Second, Debounce: 300 * time.Millisecond}
}

func TestBurstOfChangesGivesOneRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, f, stop := runFake(t, execCfg())
		defer stop()
		c.SetEnv(map[string]string{"SECRET": "one"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(f.started("SECRET")); n != 0 {
			t.Fatal("the child started before every template rendered")
		}
		c.Ready()
		synctest.Wait()
		for _, v := range []string{"two", "three", "four"} {
			c.SetEnv(map[string]string{"SECRET": v})
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := f.started("SECRET"); !slices.Equal(got, []string{"one", "four"}) {
			t.Fatalf("started with %q, want one restart with the last value", got)
		}
		if got := f.signalsOf(0); !slices.Equal(got, []os.Signal{syscall.SIGTERM}) {
			t.Fatalf("the first child got %v", got)
		}
	})
}

func TestReloadSignalInsteadOfRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := execCfg()
		cfg.ReloadSignal = "SIGHUP"
		c, f, stop := runFake(t, cfg)
		defer stop()
		c.SetEnv(map[string]string{"A": "1"})
		c.Ready()
		synctest.Wait()
		c.SetEnv(map[string]string{"A": "2"})
		time.Sleep(cfg.Debounce)
		synctest.Wait()
		if got := f.signalsOf(0); !slices.Equal(got, []os.Signal{syscall.SIGHUP}) || len(f.started("A")) != 1 {
			t.Fatalf("signals %v, %d starts", got, len(f.started("A")))
		}
	})
}

func TestNeverRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := execCfg()
		cfg.RestartOnSecretChanges = "never"
		c, f, stop := runFake(t, cfg)
		defer stop()
		c.Ready()
		synctest.Wait()
		c.SetEnv(map[string]string{"A": "2"})
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := len(f.started("A")); n != 1 || len(f.signalsOf(0)) != 0 {
			t.Fatalf("%d starts, signals %v", n, f.signalsOf(0))
		}
	})
}

// A child that ignores the stop signal is killed after exactly
// restart_kill_timeout.
func TestKillAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, f, stop := runFake(t, execCfg())
		f.ignoreTerm = true
		c.Ready()
		synctest.Wait()
		start := time.Now()
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := f.signalsOf(0); !slices.Equal(got, []os.Signal{syscall.SIGTERM, syscall.SIGKILL}) {
			t.Fatalf("signals %v", got)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Fatalf("killed after %v, want the 5s kill timeout", d)
		}
	})
}

// The kill timeout runs on the injected clock: the child is killed when
// the clock reaches it, not before, whatever the wall clock does.
func TestKillTimeoutFollowsTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		f := &fakeProcs{ignoreTerm: true}
		c := New(Options{Spec: execCfg(), Clock: fake, Logger: slog.New(slog.DiscardHandler)})
		c.spawn = f.spawn
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		c.Ready()
		synctest.Wait()
		cancel()
		synctest.Wait() // stop sent SIGTERM and waits on the fake clock
		if n := fake.Waiters(); n != 1 {
			t.Fatalf("%d waits on the clock, want the kill timeout's", n)
		}
		time.Sleep(time.Hour) // the bubble's time: not the supervisor's clock
		fake.Advance(execCfg().KillTimeout - time.Nanosecond)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Run returned (%v) before the kill timeout", err)
		default:
		}
		if got := f.signalsOf(0); !slices.Equal(got, []os.Signal{syscall.SIGTERM}) {
			t.Fatalf("signals before the timeout %v", got)
		}
		fake.Advance(time.Nanosecond)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := f.signalsOf(0); !slices.Equal(got, []os.Signal{syscall.SIGTERM, syscall.SIGKILL}) {
			t.Fatalf("signals %v", got)
		}
	})
}

func TestExitCodeIsReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, f, stop := runFake(t, execCfg())
		c.Ready()
		synctest.Wait()
		f.procs[0].exit(42)
		if code, ok := IsExit(stop()); !ok || code != 42 {
			t.Fatalf("exit code %d %v", code, ok)
		}
	})
}

// The real thing once: a process's exit status and a kill after the
// timeout, with a shell that ignores SIGTERM.
func TestRealChild(t *testing.T) {
	c := New(Options{Spec: Spec{Command: command.Command{Shell: "exit 42"}, StopSignal: "SIGTERM", KillTimeout: time.Second, Debounce: time.Second}})
	c.Ready()
	if code, ok := IsExit(c.Run(context.Background())); !ok || code != 42 {
		t.Fatalf("exit code %d %v", code, ok)
	}
	ready := filepath.Join(t.TempDir(), "ready")
	c = New(Options{Spec: Spec{Command: command.Command{Argv: []string{"sh", "-c", fmt.Sprintf("trap '' TERM; touch %s; while :; do sleep 0.05; done", ready)}},
		StopSignal: "SIGTERM", KillTimeout: 300 * time.Millisecond, Debounce: time.Second}, Env: os.Environ()})
	c.Ready()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for _, err := os.Stat(ready); err != nil; _, err = os.Stat(ready) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the child did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil || time.Since(start) < 300*time.Millisecond {
			t.Fatalf("stop: %v after %v", err, time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a child ignoring SIGTERM was not killed")
	}
}

// Restart (a consumer check's escalation) restarts the child even where
// a secret change would only signal it, or do nothing.
func TestRestartOverridesReloadSignalAndNever(t *testing.T) {
	for _, tweak := range []func(*Spec){
		func(s *Spec) { s.ReloadSignal = "SIGHUP" },
		func(s *Spec) { s.RestartOnSecretChanges = "never" },
	} {
		synctest.Test(t, func(t *testing.T) {
			cfg := execCfg()
			tweak(&cfg)
			c, f, stop := runFake(t, cfg)
			defer stop()
			c.Restart() // before the child runs: nothing
			c.Ready()
			synctest.Wait()
			c.Restart()
			time.Sleep(time.Minute)
			synctest.Wait()
			if n := len(f.started("A")); n != 2 {
				t.Fatalf("%d starts, want 2", n)
			}
			if got := f.signalsOf(0); !slices.Equal(got, []os.Signal{syscall.SIGTERM}) {
				t.Fatalf("the first child got %v, want the stop signal", got)
			}
		})
	}
}
