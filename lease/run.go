package lease

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// job is one action Run hands to a worker, with copies of everything the
// worker needs: a worker never touches the entry, Run alone does.
type job struct {
	e        *entry
	key      string
	ref      Ref
	op       Op
	leaseID  string
	leaseTTL time.Duration
	deadline time.Time // zero: none
	prio     time.Time // the slot queue's order: the deadline, or later
	forced   bool
	c        *api.Client
	tok      *auth.Token
	tracked  bool // a proxied lease or token: renewed with c, never fetched
	// borrowed says c carries a listener client's token, not rotor's (tok):
	// a 403 then says nothing about rotor's token.
	borrowed bool
	// clientErr is why c is nil for a tracked job (see trackedClient).
	clientErr error
}

// outcome is what a worker reports back to Run.
type outcome struct {
	j         job
	at        time.Time
	granted   time.Duration // renewal: the TTL Vault granted
	renewable bool
	res       fetched // fetch: the new secret
	err       error
	class     vaulterr.Class
	timedOut  bool // the request ran out of its own time (it hung)
}

// takeEnded drops tracked entries that can no longer be renewed; Run
// calls their Gone callbacks.
func (s *Store) takeEnded() []func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended(s.o.Clock.Now())
}

// Run keeps every secret alive until ctx is done. It is the only
// goroutine that plans and starts actions: it sleeps until the earliest
// action is due (or a worker reports, or something is marked due), starts
// what is due in workers, earliest deadline first, at most workers at
// once, and applies each result as soon as it comes, calling OnChange for
// that secret alone. A slow action delays nothing but its own secret.
// Run returns once every worker it started has ended.
func (s *Store) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	// Workers are cancelled with ctx; waiting for them keeps Run the
	// owner of every goroutine it started.
	defer wg.Wait()
	running := 0
	for {
		for _, o := range s.takeDone() {
			running--
			s.finish(ctx, &wg, o)
		}
		for _, f := range s.takeEnded() {
			f()
		}
		if rs, c := s.takeRevokes(); len(rs) > 0 {
			for _, rv := range rs {
				wg.Go(func() { s.revokeOld(ctx, c, rv.leaseID, rv.ref) })
			}
		}
		s.probed(s.o.Clock.Now())
		if c, ok := s.takeProbe(s.o.Clock.Now()); ok {
			// Not one of the workers: it holds a request slot only.
			wg.Go(func() { s.doProbe(ctx, c) })
		}
		for _, j := range s.takeDue(s.workers - running) {
			running++
			wg.Go(func() { s.report(s.perform(ctx, j)) })
		}
		var next time.Time // with every worker busy, only a report can start more
		if running < s.workers {
			next = s.earliest()
		} else {
			s.mu.Lock()
			s.sleepUntil = time.Time{}
			s.mu.Unlock()
		}
		if _, err := clock.Wait(ctx, s.o.Clock, next, s.wake); err != nil {
			return nil
		}
	}
}

// report hands a worker's outcome to Run. It never blocks.
func (s *Store) report(o outcome) {
	s.mu.Lock()
	s.done = append(s.done, o)
	s.mu.Unlock()
	s.poke()
}

func (s *Store) takeDone() []outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.done
	s.done = nil
	return done
}

// plan gives every entry that has none its next action. Called with s.mu
// held.
func (s *Store) plan() {
	for _, e := range s.entries {
		if e.planned || e.busy {
			continue
		}
		s.planEntry(e)
	}
}

// planEntry gives e its next action. Called with s.mu held.
func (s *Store) planEntry(e *entry) {
	s.bindOwner(e)
	e.op, e.next = Next(e.timing, s.policy(e), s.o.Rand())
	e.planned = true
}

// earliest is when the next action is due; zero when nothing is planned
// or the store has no token yet. Run sleeps until then (sleepUntil).
func (s *Store) earliest() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sleepUntil = time.Time{}
	if s.client == nil {
		return time.Time{}
	}
	s.plan()
	var t time.Time
	if s.probe.down {
		// Nothing but the probe is sent while Vault is down.
		if !s.probe.busy {
			t = s.probe.next
		}
		s.sleepUntil = t
		return t
	}
	for _, e := range s.entries {
		if !e.busy && (t.IsZero() || e.next.Before(t)) {
			t = e.next
		}
	}
	s.sleepUntil = t
	return t
}

// priority orders due actions and slot waiters: a secret's deadline, or,
// for secrets that never expire, a static interval after they are due.
func (s *Store) priority(e *entry) time.Time {
	if d := Deadline(e.timing); !d.IsZero() {
		return d
	}
	return e.next.Add(max(s.policy(e).StaticInterval, time.Minute))
}

// takeDue marks up to n due entries busy, earliest deadline first, and
// returns their jobs.
func (s *Store) takeDue(n int) []job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || s.client == nil {
		return nil
	}
	s.plan()
	now := s.o.Clock.Now()
	var due []*entry
	for _, e := range s.entries {
		if !e.busy && !e.next.After(now) {
			if s.probe.down {
				e.waiting = true // Vault is down: it waits for the probe
				continue
			}
			due = append(due, e)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		pi, pj := s.priority(due[i]), s.priority(due[j])
		if !pi.Equal(pj) {
			return pi.Before(pj)
		}
		return due[i].ref.Key() < due[j].ref.Key()
	})
	jobs := make([]job, 0, min(n, len(due)))
	for _, e := range due[:min(n, len(due))] {
		j := job{e: e, key: e.ref.Key(), ref: e.ref, op: e.op, leaseID: e.leaseID, leaseTTL: e.leaseTTL,
			deadline: Deadline(e.timing), prio: s.priority(e), forced: e.forced, c: s.client, tok: s.tok}
		if e.tracked != nil {
			j.key, j.tracked = trackedKey(e.tracked.ID), true
			if e.held == nil { // a held lease is renewed with rotor's token
				j.c, j.clientErr = s.trackedClient(e.tracked.Token)
				j.borrowed = true
			}
		}
		// A tracked entry is only ever renewed (a proxied token has no
		// lease ID); its worker renews it whatever the action says.
		if !j.tracked && j.op == OpRenew && (j.forced || j.leaseID == "" || RequestTimeout(OpRenew, now, j.deadline) == 0) {
			j.op = OpRefetch // a rotation, or a lease already ended
		}
		e.busy, e.forced = true, false
		jobs = append(jobs, j)
	}
	return jobs
}

// finish applies a worker's outcome, then tells the rest of rotor.
func (s *Store) finish(ctx context.Context, wg *sync.WaitGroup, o outcome) {
	changed, revoke := s.apply(o)
	if o.class == vaulterr.Canceled {
		return
	}
	if changed {
		s.o.OnChange([]string{o.j.key})
	}
	s.o.OnUpdate()
	if revoke != "" {
		wg.Go(func() { s.revokeOld(ctx, o.j.c, revoke, o.j.ref) })
	}
}

// apply records o in its entry and plans the entry's next action. It
// reports whether the value changed, and a replaced lease to revoke.
func (s *Store) apply(o outcome) (changed bool, revoke string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := o.j.e
	e.busy = false
	if s.entries[o.j.key] != e {
		return false, "" // released meanwhile
	}
	// Rotate may have been called while the action was in flight: the
	// new secret it asks for is still owed, whatever the outcome.
	again := e.forced
	if o.class == vaulterr.Canceled {
		e.forced, e.planned = again || o.j.forced, false
		return false, ""
	}
	now := o.at
	if o.err != nil {
		e.lastErr, e.errClass = o.err, o.class
		e.forced = again || o.j.forced
		s.failed(e, o, now)
	} else {
		if o.j.tracked || o.j.op == OpRenew {
			s.renewed(e, o, now)
		} else {
			old, oldLease, prev := e.val, e.leaseID, *e
			e.val, e.timing, e.leaseID, e.leaseTTL = o.res.val, o.res.timing, o.res.leaseID, o.res.leaseTTL
			e.owner = o.j.tok.Generation
			s.valuesVer++
			changed = !sameValue(old, e.val)
			if o.j.forced && oldLease != "" && oldLease != e.leaseID {
				// A forced rotation is for a secret that may have leaked:
				// the old lease goes as soon as the new one is held.
				revoke = oldLease
			}
			if s.hold(prev, e, o.j.forced) {
				revoke = "" // its consumer may still use it (hold.go)
			}
		}
		s.succeeded(e, now)
		e.lastErr, e.errClass = nil, vaulterr.None
		e.b, e.slow = nil, nil // backoffs start over at the next failure
		// A token that came while this was in flight: bind the lease to
		// its owner's death before planning, so the plan is before it.
		s.bindOwner(e)
		e.op, e.next = Next(e.timing, s.policy(e), s.o.Rand())
		if e.dephase {
			e.next, e.dephase = Dephase(now, e.next, s.o.Rand()), false
		}
		msg := "secret refreshed"
		if o.j.op == OpRenew {
			msg = "lease renewed"
		}
		s.o.Logger.Debug(msg, "secret", e.ref.String(), "changed", changed, "class", e.timing.Class.String(),
			"capped", e.timing.Capped, "next", e.op.String(), "at", e.next)
	}
	e.planned = true
	if again {
		e.op, e.next = OpRefetch, now
	}
	return changed, revoke
}

// renewed records a successful renewal. Called with s.mu held.
func (s *Store) renewed(e *entry, o outcome, now time.Time) {
	// A grant short of the ask (leaseTTL) means the max TTL is near:
	// lifetime marks it capped, and Next fetches a new secret instead.
	e.timing.renewed(now, e.leaseTTL, o.granted, o.renewable)
	if e.val.Secret != nil {
		// A copy: templates may be reading the old one.
		e.val.Secret = e.val.Secret.withLeaseDuration(int(o.granted.Seconds()))
	}
}

// failed plans what follows a failed action. Called with s.mu held.
//
// A renewal that hung (ran out of its time), or that Vault refuses for
// good (the lease is gone, the policy denies renewing), is replaced at
// once by a fetch of a new secret. A renewal that failed transiently is
// retried, as a renewal, while the lease has time: a Vault back from a
// restart then keeps the lease instead of issuing a new one. A fetch is
// retried within seconds after a transient failure and every few minutes
// after a permanent one. With a dead token, the retry waits for the new
// login (SetToken wakes it). When the failure shows Vault itself
// unreachable, the retry waits for the health probe instead (probe.go):
// one backoff per secret still, but no secret request while Vault is down.
func (s *Store) failed(e *entry, o outcome, now time.Time) {
	deadline := Deadline(e.timing)
	ra, _ := vaulterr.RetryAfter(o.err)
	log := s.o.Logger.With("secret", e.ref.String(), "error", o.err, "error_class", o.class.String())
	// The dephase mark is for the plan after a recovery fetch that worked;
	// a failed one must not leave it for a later, unrelated success.
	e.dephase = false
	if e.b == nil {
		// Made at the first failure: most secrets never fail, and 10,000
		// cached leases should not carry 20,000 idle backoffs.
		e.b, e.slow = newBackoff(s.o.Rand), newSlowBackoff(s.o.Rand)
	}
	switch {
	case e.held != nil && now.Before(deadline) && (o.class.Transient() || o.timedOut):
		// A held lease is kept until it ends (its consumer may still use
		// it): a renewal that failed or hung is tried again, never given up.
		e.op, e.next = OpRenew, now.Add(RetryIn(e.b.Next(), ra, now, deadline))
		log.Warn("held lease renewal failed; retrying", "retry_in", e.next.Sub(now).Round(time.Millisecond))
	case e.tracked != nil && !(o.class.Transient() && !o.timedOut && now.Before(deadline)):
		// A proxied lease cannot be fetched again: it is released and
		// the proxy evicts it (takeEnded, at once).
		e.op, e.next = OpRefetch, now
		log.Warn("proxied lease can no longer be renewed; releasing it")
	case o.j.op == OpRenew && o.class.Transient() && !o.timedOut:
		e.op, e.next = OpRenew, now.Add(RetryIn(e.b.Next(), ra, now, deadline))
		if s.vaultDown(o, now) {
			log.Warn("lease renewal failed; retrying when Vault answers again")
			s.markDown(e, now)
			return
		}
		log.Warn("lease renewal failed; retrying", "retry_in", e.next.Sub(now).Round(time.Millisecond))
	case o.j.op == OpRenew && o.class != vaulterr.BadToken:
		e.op, e.next = OpRefetch, now
		log.Warn("lease renewal failed; fetching a new secret", "timed_out", o.timedOut)
	case o.class.Permanent() || o.class == vaulterr.Config:
		e.op, e.next = OpRefetch, now.Add(e.slow.Next())
		log.Error("secret refresh failed; Vault refuses it, retrying slowly", "retry_in", e.next.Sub(now).Round(time.Second))
	default:
		e.op, e.next = OpRefetch, now.Add(RetryIn(e.b.Next(), ra, now, deadline))
		if s.vaultDown(o, now) {
			log.Warn("secret refresh failed; retrying when Vault answers again")
			s.markDown(e, now)
			return
		}
		log.Warn("secret refresh failed", "retry_in", e.next.Sub(now).Round(time.Millisecond))
	}
}
