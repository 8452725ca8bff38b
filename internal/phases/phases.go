// Package phases measures where rotor's time goes between its start and
// the first complete render, for benchmarks (bench/run.sh). cmd/rotor
// builds a Recorder only when ROTOR_PHASES is set; every part takes a
// possibly nil *Recorder, and a nil Recorder does nothing, so the normal
// path pays one nil check per event and never reads the clock for it.
//
// Rendering is a pipeline (fetches, executions and writes of different
// templates overlap), so each phase is reported both as its span (first
// start to last end, from the process's start) and as the sum of its
// events' durations, with their count.
package phases

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Phase is one kind of work.
type Phase int

// The phases, in the order data flows.
const (
	Config  Phase = iota // read, decode, default and validate the configuration
	Setup                // build the parts: parse every template, the Vault client
	Login                // auto-auth: from Run's start to the first token
	Fetch                // a template's first fetch of a secret (queueing, mount lookup, request)
	Execute              // one execution of a template
	Write                // one group's files written: temporary files, fsync, rename, directory fsync
	Reload               // one reload command run
	numPhases
)

var names = [numPhases]string{"config", "setup", "login", "fetch", "execute", "write", "reload"}

func (p Phase) String() string { return names[p] }

// Recorder accumulates events per phase. Safe for concurrent use; nil
// records nothing.
type Recorder struct {
	start time.Time // the process's start as the caller saw it (main entered)
	mu    sync.Mutex
	p     [numPhases]stat
	done  time.Time // Done's time
}

type stat struct {
	n           int
	sum         time.Duration
	first, last time.Time
}

// New returns a Recorder whose offsets count from start.
func New(start time.Time) *Recorder { return &Recorder{start: start} }

// Begin returns the time an event starts (zero for a nil Recorder: the
// clock is not read).
func (r *Recorder) Begin() time.Time {
	if r == nil {
		return time.Time{}
	}
	return time.Now()
}

// End records an event of phase p that started at began (from Begin).
func (r *Recorder) End(p Phase, began time.Time) {
	if r == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.p[p]
	s.n++
	s.sum += now.Sub(began)
	if s.first.IsZero() || began.Before(s.first) {
		s.first = began
	}
	if now.After(s.last) {
		s.last = now
	}
}

// Done marks the end of the measured work (every template rendered
// once). Only the first call counts.
func (r *Recorder) Done() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done.IsZero() {
		r.done = time.Now()
	}
}

// Report writes one line per phase that had events, then the total and
// the process's CPU time, in a fixed format bench/compare_test.go reads:
//
//	phase <name> n=<count> from=<s> to=<s> sum=<s>
//	phase total to=<s> cpu_user=<s> cpu_sys=<s> start_unix_ns=<ns>
//
// Offsets are seconds from the start given to New.
func (r *Recorder) Report(w io.Writer) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	off := func(t time.Time) float64 { return t.Sub(r.start).Seconds() }
	for i, s := range r.p {
		if s.n == 0 {
			continue
		}
		fmt.Fprintf(w, "phase %s n=%d from=%.6f to=%.6f sum=%.6f\n", Phase(i), s.n, off(s.first), off(s.last), s.sum.Seconds())
	}
	done := r.done
	if done.IsZero() {
		done = time.Now()
	}
	user, sys := cpuTime()
	fmt.Fprintf(w, "phase total to=%.6f cpu_user=%.6f cpu_sys=%.6f start_unix_ns=%d\n", off(done), user.Seconds(), sys.Seconds(), r.start.UnixNano())
}
