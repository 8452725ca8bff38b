//go:build linux

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// rotor is a running `rotor agent`.
type rotor struct {
	t    *testing.T
	p    *proc.Process
	cmd  *exec.Cmd
	out  *vaulttest.Buffer
	done <-chan struct{} // closed once rotor has exited and been reaped
	hc   *http.Client    // the local API, over the Unix socket
}

// start runs `rotor agent -config cfg` until the test ends; its output is
// logged if the test fails.
func (e *env) start(cfg string) *rotor {
	e.t.Helper()
	r := startRotor(e.t, e.sock, "agent", "-config", cfg)
	e.t.Cleanup(func() {
		r.p.KillGroup()
		if e.t.Failed() || os.Getenv("ROTOR_CHAOS_VERBOSE") == "1" {
			e.t.Logf("rotor output (tail):\n%s", lastLines(r.out.String(), 80))
		}
	})
	return r
}

// startRotor runs the rotor binary with args; sock is its API socket.
func startRotor(t *testing.T, sock string, args ...string) *rotor {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = proc.CleanEnv("ROTOR_STATE_KEY=chaos-state-key")
	out := &vaulttest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	r := &rotor{t: t, p: p, cmd: cmd, out: out, done: p.Done()}
	r.hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	return r
}

// alive reports whether the process is still running.
func (r *rotor) alive() bool { return !r.p.Exited() }

func (r *rotor) signal(sig syscall.Signal) {
	r.t.Helper()
	if err := r.p.Signal(sig); err != nil {
		r.t.Fatalf("signal %v: %v", sig, err)
	}
}

// kill sends SIGKILL to rotor alone (a crash) and reaps it.
func (r *rotor) kill() { r.p.Kill() }

// status reads GET /agent/v1/status.
func (r *rotor) status() (ops.StatusView, error) {
	var st ops.StatusView
	resp, err := r.hc.Get("http://rotor/agent/v1/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// readyz returns the status code of GET /readyz (0 when rotor does not
// answer).
func (r *rotor) readyz() int {
	resp, err := r.hc.Get("http://rotor/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitLog waits until substr has appeared at least n times in the output.
func (r *rotor) waitLog(substr string, n int, timeout time.Duration) {
	r.t.Helper()
	vaulttest.Eventually(r.t, timeout, func() error {
		if got := strings.Count(r.out.String(), substr); got < n {
			if !r.alive() {
				return fmt.Errorf("rotor exited (%v) before logging %q", r.cmd.ProcessState, substr)
			}
			return fmt.Errorf("%q logged %d times, want %d", substr, got, n)
		}
		return nil
	})
}

// waitRendered waits until every template is rendered once.
func (r *rotor) waitRendered(timeout time.Duration) {
	r.t.Helper()
	r.waitLog("all templates rendered", 1, timeout)
}

// leaseStatus returns the status of the secret whose path starts with
// prefix.
func (r *rotor) leaseStatus(prefix string) (ops.StatusView, int, error) {
	st, err := r.status()
	if err != nil {
		return st, -1, err
	}
	for i, l := range st.Leases {
		if strings.HasPrefix(l.Path, prefix) {
			return st, i, nil
		}
	}
	return st, -1, fmt.Errorf("no secret %s in rotor's status", prefix)
}

// readiness samples /readyz and the status' lease errors in the
// background, so a test can say whether and how long rotor showed itself
// degraded.
type readiness struct {
	stopOnce sync.Once
	stopCh   chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at       time.Time
	code     int  // /readyz status (0: no answer)
	leaseErr bool // some secret shows a last_error
}

func (r *rotor) watchReadiness(every time.Duration) *readiness {
	rd := &readiness{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(rd.done)
		for {
			s := sample{at: time.Now(), code: r.readyz()}
			if st, err := r.status(); err == nil {
				for _, l := range st.Leases {
					s.leaseErr = s.leaseErr || l.Error != nil
				}
			}
			rd.mu.Lock()
			rd.samples = append(rd.samples, s)
			rd.mu.Unlock()
			select {
			case <-rd.stopCh:
				return
			case <-time.After(every):
			}
		}
	}()
	return rd
}

func (rd *readiness) stop() {
	rd.stopOnce.Do(func() { close(rd.stopCh) })
	<-rd.done
}

// summary describes readiness over the samples: "/readyz 200 throughout,
// lease errors shown for 4.1s", or the non-200 time.
func (rd *readiness) summary() string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var notReady, errs time.Duration
	for i := 1; i < len(rd.samples); i++ {
		d := rd.samples[i].at.Sub(rd.samples[i-1].at)
		if rd.samples[i-1].code != 200 {
			notReady += d
		}
		if rd.samples[i-1].leaseErr {
			errs += d
		}
	}
	s := "/readyz 200 throughout"
	if notReady > 0 {
		s = "/readyz not 200 for " + secs(notReady)
	}
	if errs > 0 {
		s += ", lease errors in status for " + secs(errs)
	}
	return s
}

// last returns the last sample's /readyz code.
func (rd *readiness) last() int {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if len(rd.samples) == 0 {
		return 0
	}
	return rd.samples[len(rd.samples)-1].code
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
