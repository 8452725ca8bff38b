// Package supervise runs the application as rotor's child process, with
// rendered secrets in its environment, and restarts (or signals) it when
// they change.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/command"
)

// ExitError is returned by Run when the child exited on its own: rotor
// exits with the same code.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("command exited with status %d", e.Code) }

// Spec is what the child runs and how it reacts to secret changes. The
// agent builds it from the exec block.
type Spec struct {
	Command command.Command
	// RestartOnSecretChanges is "always" (restart, or send ReloadSignal)
	// or "never".
	RestartOnSecretChanges string
	StopSignal             string        // sent to stop the child, e.g. "SIGTERM"
	KillTimeout            time.Duration // then SIGKILL
	// ReloadSignal, if set, is sent instead of a restart when a secret
	// changes (for apps that re-read their configuration).
	ReloadSignal string
	// Debounce gathers a burst of secret changes into one restart.
	Debounce time.Duration
}

// Equal reports whether s and o describe the same child.
func (s Spec) Equal(o Spec) bool {
	return s.Command.Equal(o.Command) && s.RestartOnSecretChanges == o.RestartOnSecretChanges &&
		s.StopSignal == o.StopSignal && s.KillTimeout == o.KillTimeout &&
		s.ReloadSignal == o.ReloadSignal && s.Debounce == o.Debounce
}

// Options configure a Child.
type Options struct {
	Spec
	Logger *slog.Logger
	Clock  clock.Clock // default clock.Real
	// Env is the child's environment before its env_template values are
	// added (which win). The agent passes rotor's own environment minus
	// the variables it read credentials from.
	Env []string
}

// Child supervises one command. It starts nothing until Run.
type Child struct {
	cfg   Spec
	env0  []string // base environment
	log   *slog.Logger
	clock clock.Clock

	mu      sync.Mutex
	env     map[string]string // rendered env_template values
	ready   bool              // every template rendered once: the child may start
	changed bool              // env changed since the child started
	force   bool              // Restart was called: restart whatever the spec says
	started bool
	wake    chan struct{}
	signals chan os.Signal
	// spawn starts the process (spawnExec; tests use a fake one).
	spawn func(c command.Command, env []string) (*proc, error)
}

// New returns a supervisor; it starts nothing.
func New(o Options) *Child {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &Child{cfg: o.Spec, env0: o.Env, log: o.Logger, clock: o.Clock, wake: make(chan struct{}, 1),
		signals: make(chan os.Signal, 4), spawn: spawnExec}
}

// SetEnv gives the child's secret environment. Before the child runs it
// is just stored; afterwards a change restarts (or signals) the child,
// once per burst of changes. It never blocks.
func (c *Child) SetEnv(env map[string]string) {
	c.mu.Lock()
	c.env = env
	if c.ready {
		c.changed = true
	}
	c.mu.Unlock()
	c.poke()
}

// Ready lets the child start: every template has rendered once.
func (c *Child) Ready() {
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
	c.poke()
}

// Restart restarts the running child (after the debounce), whatever
// restart_on_secret_changes and reload_signal say: a template's consumer
// check (confirm { restart_exec = true }) found it still on the old
// secrets. Before the child runs it does nothing. It never blocks.
func (c *Child) Restart() {
	c.mu.Lock()
	if c.ready {
		c.changed, c.force = true, true
	}
	c.mu.Unlock()
	c.poke()
}

// Signal forwards a signal to the child (rotor's cmd layer calls it for
// the signals rotor receives). It never blocks.
func (c *Child) Signal(s os.Signal) {
	select {
	case c.signals <- s:
	default:
	}
}

func (c *Child) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run starts the child once Ready is called and supervises it. It returns
// *ExitError when the child exits on its own, or nil when ctx is done (the
// child is then stopped with the stop signal, then SIGKILL).
func (c *Child) Run(ctx context.Context) error {
	for !c.isReady() {
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		}
	}
	for {
		p, err := c.start()
		if err != nil {
			return err
		}
		restart, err := c.watch(ctx, p)
		if !restart {
			return err
		}
	}
}

func (c *Child) isReady() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// proc is a started child process.
type proc struct {
	pid int
	// signal forwards a signal rotor received; send sends a configured
	// one by name (the stop and reload signals, and "SIGKILL"). Both go
	// through the platform's means (signal_unix.go, signal_windows.go).
	signal func(os.Signal) error
	send   func(name string) error
	done   chan struct{} // closed once the process has exited
	code   int           // its exit status (128+N when signal N killed it); set before done is closed
}

// spawnExec starts c with env, sharing rotor's stdin, stdout and stderr.
func spawnExec(c command.Command, env []string) (*proc, error) {
	cmd := c.Exec(context.Background())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	prepare(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{pid: cmd.Process.Pid, done: make(chan struct{}),
		signal: func(s os.Signal) error { return forward(cmd.Process, s) },
		send:   func(name string) error { return sendSignal(cmd.Process, name) }}
	go func() {
		cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
		close(p.done)
	}()
	return p, nil
}

func (c *Child) start() (*proc, error) {
	argv := c.cfg.Command.Resolve()
	c.mu.Lock()
	env := mergeEnv(c.env0, c.env)
	c.changed, c.force = false, false
	c.started = true
	n := len(c.env)
	c.mu.Unlock()
	p, err := c.spawn(c.cfg.Command, env)
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", argv[0], err)
	}
	c.log.Info("child started", "pid", p.pid, "command", argv[0], "secret_variables", n)
	return p, nil
}

// watch waits for the child's exit, a forwarded signal, a secret change
// (debounced) or ctx. restart reports that the child was stopped to be
// started again.
func (c *Child) watch(ctx context.Context, p *proc) (restart bool, err error) {
	var debounce <-chan time.Time
	for {
		select {
		case <-p.done:
			c.log.Info("child exited", "pid", p.pid, "exit_code", p.code)
			return false, &ExitError{Code: p.code}
		case s := <-c.signals:
			c.log.Info("forwarding signal to child", "signal", s.String(), "pid", p.pid)
			if err := p.signal(s); err != nil {
				c.log.Info("signal not forwarded", "signal", s.String(), "error", err)
			}
		case <-ctx.Done():
			c.stop(p)
			return false, nil
		case <-c.wake:
			if c.pendingChange() && debounce == nil {
				debounce = c.clock.After(c.cfg.Debounce)
			}
		case <-debounce:
			debounce = nil
			if !c.pendingChange() {
				continue
			}
			if c.forced() {
				c.log.Warn("the new secrets are not confirmed in use; restarting child", "pid", p.pid)
				c.stop(p)
				return true, nil
			}
			if c.cfg.ReloadSignal != "" && canReloadBySignal {
				c.mu.Lock()
				c.changed = false
				c.mu.Unlock()
				c.log.Info("secrets changed; signalling child", "signal", c.cfg.ReloadSignal, "pid", p.pid)
				p.send(c.cfg.ReloadSignal)
				continue
			}
			if c.cfg.ReloadSignal != "" {
				c.log.Warn("reload_signal cannot be sent on this system; restarting the child instead", "signal", c.cfg.ReloadSignal)
			}
			if c.cfg.RestartOnSecretChanges == "never" {
				continue
			}
			c.log.Info("secrets changed; restarting child", "pid", p.pid)
			c.stop(p)
			return true, nil
		}
	}
}

// forced reports and clears a pending Restart.
func (c *Child) forced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.force
	c.force = false
	return f
}

func (c *Child) pendingChange() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// stop sends the stop signal, waits up to the kill timeout on c's clock
// (a fake one in tests), then SIGKILL. A stop signal that cannot be sent
// (Windows without a console) kills at once: waiting would only delay the
// same end.
func (c *Child) stop(p *proc) {
	if err := p.send(c.cfg.StopSignal); err != nil {
		select {
		case <-p.done:
			return // it had exited already
		default:
		}
		c.log.Info("stop signal not sent; killing the child", "signal", c.cfg.StopSignal, "error", err)
		p.send("SIGKILL")
		<-p.done
		return
	}
	select {
	case <-p.done:
		return
	case <-c.clock.After(c.cfg.KillTimeout):
	}
	c.log.Warn("child did not stop in time; killing it", "pid", p.pid, "timeout", c.cfg.KillTimeout)
	p.send("SIGKILL")
	<-p.done
}

// mergeEnv overrides base with the secret values, which win.
func mergeEnv(base []string, secrets map[string]string) []string {
	out := make([]string, 0, len(base)+len(secrets))
	for _, kv := range base {
		name := kv
		for i := range kv {
			if kv[i] == '=' {
				name = kv[:i]
				break
			}
		}
		if _, ok := secrets[name]; !ok {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, n+"="+secrets[n])
	}
	return out
}

// IsExit reports whether err is the child's own exit, and its code.
func IsExit(err error) (int, bool) {
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

// Started reports whether the child has been started (it may have exited).
func (c *Child) Started() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}
