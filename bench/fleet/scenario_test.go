package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// timeline is one fleet's run, every phase measured from its start.
type timeline struct {
	warmup  time.Duration // start -> the steady window (the deploy storm settles)
	steady  time.Duration // the steady window
	outage  time.Duration // Vault stopped
	observe time.Duration // after Vault is active again
}

// leaseState is what an agent held when Vault stopped.
type leaseState struct {
	lease    string
	leaseEnd time.Time // when Vault said the lease expires; zero if unknown
	// capped: the lease has reached its max TTL, so renewing it gains
	// nothing and fetching a new one before it ends is right.
	capped  bool
	certEnd time.Time
}

// fleetRun is what the harness saw of one fleet; the requests come from
// the audit log afterwards.
type fleetRun struct {
	k      kind
	agents []*agent
	// start: the first process started; rendered: every agent had written
	// every file; down: Vault stopped; back: Vault active again.
	start, rendered, steadyStart, steadyEnd, down, back, end time.Time
	spawnSpread                                              time.Duration

	connMean []float64 // per agent, over the steady window's samples
	connMax  int
	rssKB    []int // per agent, largest sample

	before        []leaseState
	readyAt       []time.Duration // per agent after back; <0: never
	aliveAfter    int
	usersBefore   int // database users of dbRole when Vault stopped
	usersAfter    int // at the end of the observation
	leasesUnknown int // leases Vault did not know just before it stopped
}

// progress prints one line, so a 30-minute run shows where it is.
func progress(k kind, start time.Time, format string, args ...any) {
	fmt.Printf("%s  %-11s +%4.0fs  %s\n", time.Now().Format("15:04:05"), k.name, time.Since(start).Seconds(), fmt.Sprintf(format, args...))
}

// runFleet starts n agents of kind k in the same second against e's Vault
// and takes them through the timeline: deploy storm, steady window,
// Vault stopped for tl.outage, then started and unsealed, and observed.
func runFleet(t *testing.T, e *vaultEnv, k kind, n int, tl timeline) *fleetRun {
	r := &fleetRun{k: k}
	sockDir, err := os.MkdirTemp("", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	for i := range n {
		r.agents = append(r.agents, prepare(t, e, k, i, sockDir))
	}
	t.Cleanup(func() { r.stopAll() })

	// The deploy storm: every process started at once.
	r.start = time.Now()
	for _, a := range r.agents {
		if err := a.start(); err != nil {
			t.Fatalf("start %s: %v", a.name, err)
		}
	}
	r.spawnSpread = r.agents[n-1].spawn.Sub(r.start)
	progress(k, r.start, "%d agents started within %v", n, r.spawnSpread.Round(time.Millisecond))
	r.waitRendered(t, 3*time.Minute)
	progress(k, r.start, "all %d agents wrote all %d files after %v", n, len(templates), r.rendered.Sub(r.start).Round(time.Millisecond))

	r.steadyStart = r.start.Add(tl.warmup)
	r.steadyEnd = r.steadyStart.Add(tl.steady)
	time.Sleep(time.Until(r.steadyStart))
	progress(k, r.start, "steady window: %v", tl.steady)
	r.sampleSteady(e.port)

	r.outage(t, e, tl)
	r.end = time.Now()
	progress(k, r.start, "stopping the agents")
	r.stopAll()
	return r
}

// waitRendered polls until every agent has written every file.
func (r *fleetRun) waitRendered(t *testing.T, timeout time.Duration) {
	deadline := r.start.Add(timeout)
	// Poll cheaply, remembering who is done: the poller shares 2 cores
	// with the agents it measures.
	pending := r.agents
	for len(pending) > 0 {
		var still []*agent
		for _, a := range pending {
			if !a.rendered() {
				still = append(still, a)
			}
		}
		pending = still
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(pending[0].dir, "agent.log"))
			t.Fatalf("%d %s agents had not rendered everything after %v; %s's log:\n%s", len(pending), r.k.name, timeout, pending[0].name, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.rendered = time.Now()
}

// sampleSteady samples the agents' connections to Vault and their memory
// every 10s until the steady window ends.
func (r *fleetRun) sampleSteady(port int) {
	sums := make([]int, len(r.agents))
	r.rssKB = make([]int, len(r.agents))
	pids := make([]int, len(r.agents))
	for i, a := range r.agents {
		pids[i] = a.cmd.Process.Pid
	}
	samples := 0
	for next := r.steadyStart.Add(5 * time.Second); next.Before(r.steadyEnd); next = next.Add(10 * time.Second) {
		time.Sleep(time.Until(next))
		conns := vaultConns(pids, port)
		for i, pid := range pids {
			sums[i] += conns[pid]
			r.connMax = max(r.connMax, conns[pid])
			r.rssKB[i] = max(r.rssKB[i], rssKB(pid))
		}
		samples++
	}
	r.connMean = make([]float64, len(r.agents))
	for i := range sums {
		r.connMean[i] = float64(sums[i]) / float64(max(samples, 1))
	}
	time.Sleep(time.Until(r.steadyEnd))
}

// outage records what every agent holds, stops Vault for tl.outage,
// starts and unseals it, and watches the agents recover.
func (r *fleetRun) outage(t *testing.T, e *vaultEnv, tl timeline) {
	r.before = make([]leaseState, len(r.agents))
	for i, a := range r.agents {
		s := leaseState{lease: a.leaseID(), certEnd: a.certNotAfter()}
		if issued, exp, ok := e.lookupLease(s.lease); ok {
			s.leaseEnd = exp
			s.capped = exp.Sub(issued) >= maxTTL-time.Second
		} else {
			r.leasesUnknown++
		}
		r.before[i] = s
	}
	r.usersBefore = len(e.pg.Roles(t, dbUserPrefix))
	r.down = time.Now()
	e.srv.Stop()
	progress(r.k, r.start, "Vault stopped for %v (%d database users exist)", tl.outage, r.usersBefore)
	time.Sleep(time.Until(r.down.Add(tl.outage)))
	e.srv.Start(t)
	e.srv.Unseal(t)
	e.srv.WaitActive(t, time.Minute)
	r.back = time.Now()
	progress(r.k, r.start, "Vault active again after %v down", r.back.Sub(r.down).Round(100*time.Millisecond))

	r.readyAt = make([]time.Duration, len(r.agents))
	for i := range r.readyAt {
		r.readyAt[i] = -1
	}
	end := r.back.Add(tl.observe)
	for now := time.Now(); now.Before(end); now = time.Now() {
		for i, a := range r.agents {
			if r.readyAt[i] < 0 && r.readyAgain(a, r.before[i], now) {
				r.readyAt[i] = now.Sub(r.back)
			}
		}
		time.Sleep(time.Until(now.Add(time.Second)))
	}
	for _, a := range r.agents {
		if a.alive() {
			r.aliveAfter++
		}
	}
	r.usersAfter = len(e.pg.Roles(t, dbUserPrefix))
	ready := 0
	for _, d := range r.readyAt {
		if d >= 0 {
			ready++
		}
	}
	progress(r.k, r.start, "%d of %d agents alive, %d ready again; %d database users", r.aliveAfter, len(r.agents), ready, r.usersAfter)
}

// readyAgain reports whether a serves valid secrets after the outage: it
// runs, holds a certificate that has not expired, holds its old lease if
// that was still valid when Vault came back and a new one otherwise, and
// (rotor) answers /readyz with 200.
func (r *fleetRun) readyAgain(a *agent, before leaseState, now time.Time) bool {
	if !a.alive() || !a.certNotAfter().After(now) {
		return false
	}
	lease := a.leaseID()
	if lease == "" || (lease == before.lease && !before.leaseEnd.After(now)) {
		return false
	}
	return a.ready()
}

// stopAll stops every agent, in parallel.
func (r *fleetRun) stopAll() {
	var wg sync.WaitGroup
	for _, a := range r.agents {
		wg.Go(func() { a.stop(10 * time.Second) })
	}
	wg.Wait()
}
