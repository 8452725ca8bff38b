package lease

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// The health probe. When a request finds Vault unreachable (no answer,
// or 502/503/504: down, restarting, sealed, no active node), the store
// stops sending secret requests and asks sys/health every probeInterval
// instead, at a phase of its own drawn when the outage starts, and
// again before a waiting secret ends (LastChance). Secrets that come due
// or fail meanwhile wait for it (entry.waiting); the first answer saying
// Vault serves again ends the outage (vaultBack).
//
// sys/health needs no token, reads no storage and writes no audit
// entry. At one probe per 6 s, 10,000 agents send ~1,700 per second to a
// Vault that is down or starting; each secret retrying on its own
// backoff (1 s doubling to 1 min) sent ~6 authenticated requests in a
// 60 s outage, 18 per agent with bench/fleet's three secrets, where the
// probe sends 10 per agent whatever its number of secrets.
const (
	// probeInterval is how often a probe asks while Vault is down: it
	// bounds how long one agent takes to notice Vault's return.
	probeInterval = 6 * time.Second
	// probeTimeout bounds one probe; a Vault that does not answer in it
	// is not back.
	probeTimeout = 5 * time.Second
)

// probe is the store's view of Vault's health. Guarded by Store.mu.
type probe struct {
	down bool      // Vault is unreachable: secrets wait for the probe
	next time.Time // the next probe, while down
	// regular is the next probe of the agent's own phase; next is that
	// or sooner, for a secret about to end (LastChance). A last-chance
	// probe leaves the phase as it was, so a fleet stays spread.
	regular time.Time
	busy    bool // a probe is in flight
	// b spaces the probes out when Vault says it is back but requests
	// still find it unreachable (it answers health checks but nothing
	// else): probeInterval, doubling to a minute, reset on a success.
	b     *backoff.Backoff
	falls bool // the last probe said "back" and nothing has succeeded since
	// upAt is when Vault last served: a request succeeded or a probe
	// found it healthy. A request that finds Vault unreachable less than
	// probeInterval later is taken for its path failing, not Vault.
	upAt time.Time
	// result is a finished probe's answer, for Run.
	result *bool
}

// unreachable reports whether a failed request means Vault itself is
// down rather than one path failing: no HTTP answer at all (refused,
// reset, closed, DNS), or a 502, 503 (sealed, standby without an active
// node) or 504 (a load balancer with no Vault behind it). A request that
// ran out of its own time is not: one path hanging must not hold back
// every other secret.
func unreachable(err error, timedOut bool) bool {
	if timedOut || vaulterr.Classify(err) != vaulterr.Unavailable {
		return false
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusBadGateway || re.StatusCode == http.StatusServiceUnavailable ||
			re.StatusCode == http.StatusGatewayTimeout
	}
	return !errors.Is(err, context.DeadlineExceeded)
}

// vaultDown reports whether o's failure at now means Vault itself is
// down: it found Vault unreachable, and Vault has not served for
// probeInterval (or is known down already). A path that fails while
// other requests succeed keeps its own backoff and holds back nothing
// else. Called with s.mu held.
func (s *Store) vaultDown(o outcome, now time.Time) bool {
	return unreachable(o.err, o.timedOut) && (s.probe.down || now.Sub(s.probe.upAt) >= probeInterval)
}

// markDown records that Vault was found unreachable at now and parks e
// until the probe sees it back. The first probe of an outage is at a
// random point of the next probeInterval, so agents that lost Vault in
// the same second probe, and later return, at phases of their own.
// Called with s.mu held.
func (s *Store) markDown(e *entry, now time.Time) {
	e.waiting = true
	p := &s.probe
	if p.down {
		p.next = LastChance(now, Deadline(e.timing), p.next)
		return
	}
	p.down = true
	if p.b == nil {
		p.b = backoff.New(probeInterval, time.Minute).WithRand(s.o.Rand)
	}
	wait := time.Duration(s.o.Rand() * float64(probeInterval))
	if p.falls {
		// Vault said it was back, yet is unreachable again: wait longer
		// each time, so a Vault that only answers health checks is not
		// sent every secret every probeInterval.
		wait = p.b.Next()
	}
	p.regular = now.Add(wait)
	p.next = LastChance(now, Deadline(e.timing), p.regular)
	s.o.Logger.Warn("Vault is unreachable; secrets wait for it to answer again", "probe_in", p.next.Sub(now).Round(time.Millisecond))
}

// LastChance is when the next probe comes, given next, the probe's own
// schedule, so that a secret ending at deadline still has a chance to be
// renewed (or replaced) before it ends: no later than half the time it
// has left, as a secret's own retries are (RetryIn), never under
// minRetry. A Vault back 2 s before a lease ends then renews it instead of
// issuing a new one. Each secret costs at most a handful of extra probes,
// in its last probeInterval only; one that has ended adds none. It is
// pure; a zero deadline (a static secret) changes nothing.
func LastChance(now, deadline, next time.Time) time.Time {
	left := deadline.Sub(now)
	if deadline.IsZero() || left <= 0 {
		return next
	}
	if by := now.Add(max(left/2, minRetry)); by.Before(next) && by.Before(deadline) {
		return by
	}
	return next
}

// takeProbe reports whether a probe is due, and marks it in flight.
func (s *Store) takeProbe(now time.Time) (*api.Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.probe
	if !p.down || p.busy || p.next.After(now) || s.client == nil {
		return nil, false
	}
	p.busy = true
	return s.client, true
}

// doProbe asks sys/health whether Vault serves requests again, and
// reports its answer to Run. It never blocks Run.
func (s *Store) doProbe(ctx context.Context, c *api.Client) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	back := false
	if err := s.slots.acquire(ctx, s.o.Clock.Now()); err == nil {
		back = healthy(c.Sys().HealthWithContext(ctx))
		s.slots.release()
	}
	s.mu.Lock()
	s.probe.result = &back
	s.mu.Unlock()
	s.poke()
}

// healthy reads sys/health's answer: Vault serves requests when it is
// initialized, unsealed and not a DR secondary (a standby forwards to the
// active node). An HTTP answer that is not Vault's health (a proxy's 404
// or 403) cannot tell: the secrets are let through to find out.
func healthy(h *api.HealthResponse, err error) bool {
	if err != nil {
		var re *api.ResponseError
		return errors.As(err, &re) && re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests
	}
	return h.Initialized && !h.Sealed && h.ReplicationDRMode != "secondary"
}

// probed applies a finished probe: Vault back ends the outage, else the
// next probe is one interval later, keeping the agent's phase. It
// reports whether a probe had finished. Called by Run.
func (s *Store) probed(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.probe
	if p.result == nil {
		return false
	}
	back := *p.result
	p.result, p.busy = nil, false
	switch {
	case !p.down:
	case back:
		s.o.Logger.Info("Vault answers again")
		p.falls, p.upAt = true, now
		s.vaultBack(nil, now)
	default:
		for !p.regular.After(now) {
			p.regular = p.regular.Add(probeInterval)
		}
		p.next = p.regular
		for _, e := range s.entries {
			if e.waiting {
				p.next = LastChance(now, Deadline(e.timing), p.next)
			}
		}
	}
	return true
}

// vaultBack ends an outage at now: every secret that waited for Vault,
// failed transiently, or came due meanwhile is planned by RecoveryOrder
// and RecoveryAt (a retry already planned sooner is kept). done, if set,
// is the secret whose success showed Vault back. Called with s.mu held.
func (s *Store) vaultBack(done *entry, now time.Time) {
	s.probe.down = false
	var ws []Waiting
	byKey := map[string]*entry{}
	for k, e := range s.entries {
		if e == done || e.busy || !e.planned {
			continue
		}
		if !e.waiting && !e.errClass.Transient() && e.next.After(now) {
			continue
		}
		ws = append(ws, Waiting{Key: k, Class: e.timing.Class, Deadline: Deadline(e.timing)})
		byKey[k] = e
	}
	urgent := RecoveryOrder(now, ws)
	for i, w := range ws {
		e := byKey[w.Key]
		if at := RecoveryAt(now, w, i, urgent, s.o.Rand()); e.waiting || e.next.After(at) {
			e.next = at
		}
		e.waiting, e.dephase = false, true
	}
}

// succeeded records that a request succeeded at now: Vault is back for
// sure, and the probe's spacing starts over. Called with s.mu held.
func (s *Store) succeeded(done *entry, now time.Time) {
	if s.probe.down || done.errClass.Transient() {
		s.vaultBack(done, now)
	}
	s.probe.falls, s.probe.upAt = false, now
	if s.probe.b != nil {
		s.probe.b.Reset()
	}
}
