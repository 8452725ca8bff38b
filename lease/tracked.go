package lease

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/lifetime"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// Tracked is a lease or a token rotor did not fetch for a template: an
// answer the API proxy cached. The scheduler renews it like its own
// leases (on time, earliest deadline first, with its own backoff), but
// never fetches it again: when it can no longer be renewed (its max TTL,
// a revocation, its token's death), it is dropped and Gone is called, and
// the proxy evicts it (the application's next request gets a new one).
type Tracked struct {
	ID      string        // the proxy's cache entry
	LeaseID string        // the lease to renew; "" for a token
	Token   string        // renew with this token: the lease's owner, or the token itself
	TTL     time.Duration // what each renewal asks for
	// Issued is when TTL was granted; zero (restored from a state file)
	// renews it at once, which also proves it still exists.
	Issued time.Time
	Gone   func() // called once, from Run's goroutine; must not block
}

// trackedKey is the store key of a tracked entry; it cannot collide with
// a Ref's key ("read:", "write:", "list:").
func trackedKey(id string) string { return "tracked:" + id }

// Track keeps t alive until it can no longer be renewed. It never blocks.
func (s *Store) Track(t Tracked) {
	now := s.o.Clock.Now()
	e := &entry{ref: Ref{Path: t.ID}, tracked: &t, leaseID: t.LeaseID, leaseTTL: t.TTL}
	e.timing = Timing{Class: ClassLease, Issued: t.Issued, Born: t.Issued, Expires: lifetime.Expiry(t.Issued, t.TTL), Renewable: true}
	if t.Issued.IsZero() {
		e.timing.Issued, e.timing.Born, e.timing.Expires = now, now, lifetime.Expiry(now, t.TTL)
		e.op, e.next, e.planned = OpRenew, now, true
	}
	s.mu.Lock()
	// valuesVer stays: Values leaves tracked entries to their owner.
	s.entries[trackedKey(t.ID)] = e
	s.mu.Unlock()
	s.poke()
}

// Untrack stops renewing the entry with this ID (the proxy evicted it).
// Gone is not called.
func (s *Store) Untrack(id string) {
	s.mu.Lock()
	delete(s.entries, trackedKey(id))
	s.mu.Unlock()
}

// trackedClient is a client for renewing with token. It is made for each
// renewal rather than kept: renewals are rare, and thousands of cached
// leases would otherwise hold thousands of clients.
func (s *Store) trackedClient(token string) (*api.Client, error) {
	c, err := s.o.Client.CloneWithHeaders()
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	vaulterr.Prepare(c)
	return c, nil
}

// renewTracked renews a tracked lease, or a tracked token with its own
// renew-self. It returns the TTL granted.
func (s *Store) renewTracked(ctx context.Context, j job) (time.Duration, bool, error) {
	if j.c == nil {
		return 0, false, fmt.Errorf("renew a proxied lease: %w", j.clientErr)
	}
	if j.leaseID != "" {
		return s.renewLease(ctx, j)
	}
	if err := s.slots.acquire(ctx, j.prio); err != nil {
		return 0, false, err
	}
	defer s.slots.release()
	ctx, annotate := vaulterr.Track(ctx)
	sec, err := j.c.Auth().Token().RenewSelfWithContext(ctx, int(j.leaseTTL.Seconds()))
	if err != nil {
		return 0, false, fmt.Errorf("renew a proxied token: %w", annotate(err))
	}
	if sec == nil || sec.Auth == nil {
		return 0, false, fmt.Errorf("renew a proxied token: empty answer")
	}
	return time.Duration(sec.Auth.LeaseDuration) * time.Second, sec.Auth.Renewable, nil
}

// ended drops the tracked entries that can no longer be renewed (their
// next action would be a fetch) and returns their Gone callbacks, for Run
// to call outside the lock. Called with s.mu held.
func (s *Store) ended(now time.Time) []func() {
	var gone []func()
	for k, e := range s.entries {
		if e.tracked == nil || e.busy || !e.planned || e.op == OpRenew || e.next.After(now) {
			continue
		}
		if end := Deadline(e.timing); e.held != nil && now.Before(end) {
			// It cannot be renewed (further), or Vault refuses to renew
			// it, but it lives on: held, never revoked, until it ends (or
			// Release revokes it, for a forced rotation).
			e.next = end
			continue
		}
		delete(s.entries, k)
		if e.held != nil {
			s.o.Logger.Info("superseded lease ended or can no longer be renewed; no longer held", "secret", e.ref.String())
			continue
		}
		if e.tracked.Gone != nil {
			gone = append(gone, e.tracked.Gone)
		}
		s.o.Logger.Debug("proxied lease no longer renewable; released", "lease", redactLease(e.leaseID))
	}
	return gone
}
