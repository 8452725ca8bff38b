package lease

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Revoke revokes the leases the store holds for which want(key) is true,
// one request each (the token needs update on sys/leases/revoke). It is
// for shutdown: call it after Run has returned. It returns how many were
// revoked and the failures, joined.
//
// Unlike the scheduler's, these requests use the Vault client's own
// retries (vault.retry.num_retries): there is no later attempt.
func (s *Store) Revoke(ctx context.Context, want func(key string) bool) (int, error) {
	s.mu.Lock()
	tok := s.tok
	var keys []string
	for k, e := range s.entries {
		switch {
		case e.leaseID == "":
		case e.held != nil:
			// A superseded lease held for its consumer goes with its
			// secret, and one a forced rotation replaced goes anyway.
			if e.held.revoke || want(e.held.key) {
				keys = append(keys, k)
			}
		case e.tracked == nil && want(k):
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	leases := make([]string, len(keys))
	refs := make([]Ref, len(keys))
	for i, k := range keys {
		leases[i], refs[i] = s.entries[k].leaseID, s.entries[k].ref
	}
	// Revocations a released hold queued that Run did not send before it
	// returned.
	for _, rv := range s.revokes {
		keys, leases, refs = append(keys, ""), append(leases, rv.leaseID), append(refs, rv.ref)
	}
	s.revokes = nil
	s.mu.Unlock()
	if tok == nil {
		return 0, nil
	}
	c, err := s.o.Client.CloneWithHeaders()
	if err != nil {
		return 0, err
	}
	c.SetToken(tok.Value())
	n := 0
	var errs []error
	for i, id := range leases {
		if err := c.Sys().RevokeWithContext(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("revoke lease of %s: %w", refs[i], err))
			continue
		}
		n++
		s.mu.Lock()
		delete(s.entries, keys[i])
		s.mu.Unlock()
	}
	return n, errors.Join(errs...)
}

// Rotate forces a new fetch of every secret (or of those whose key
// contains match): after a suspected leak, for instance. A replaced lease
// is revoked once its successor is in place. A secret whose action is in
// flight is fetched again as soon as that action is done. It returns how
// many secrets were scheduled.
func (s *Store) Rotate(match func(key string) bool) int {
	s.mu.Lock()
	now := s.o.Clock.Now()
	n := 0
	for k, e := range s.entries {
		if e.tracked != nil || match != nil && !match(k) {
			continue // a proxied lease is the application's to replace
		}
		e.forced = true
		if !e.busy {
			e.op, e.next, e.planned = OpRefetch, now, true
		}
		n++
	}
	s.mu.Unlock()
	s.poke()
	return n
}

// Retain drops the secrets for which keep(key) is false: no template uses
// them any more, so they are not renewed or re-fetched. Their leases are
// left to expire. A secret whose action is in flight is dropped once that
// is done (Run ignores its outcome). It returns how many were dropped.
func (s *Store) Retain(keep func(key string) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.entries {
		if e.tracked == nil && !keep(k) {
			delete(s.entries, k)
			n++
		}
	}
	return n
}

// SetPolicy changes the renewal settings (a reload). Secrets not in
// flight and not failing are planned again at once with them (a shorter
// static_secret_render_interval takes effect now, not after the old
// one); the others pick them up when their action is done.
func (s *Store) SetPolicy(p Policy) {
	s.mu.Lock()
	s.o.Policy = p
	now := s.o.Clock.Now()
	for _, e := range s.entries {
		// Templates state their preferences again when they render.
		e.pol = Policy{}
		if !e.busy && e.lastErr == nil && e.next.After(now) {
			e.planned = false
		}
	}
	s.mu.Unlock()
	s.poke()
}

// Prefer records that the secrets named by keys serve a consumer with
// policy p: a template with its own lease_renewal_threshold or
// static_secret_render_interval, the global values filled in (Policy.Or).
// A secret used by several templates follows the most eager of their
// policies (Policy.Merge); one no template stated a policy for follows the
// store's. A secret whose policy changes is planned again at once, unless
// an action is in flight or failing (it picks the policy up when that is
// done). Unknown keys are ignored. It does not block on Vault.
func (s *Store) Prefer(keys []string, p Policy) {
	s.mu.Lock()
	wake := false
	for _, k := range keys {
		e := s.entries[k]
		if e == nil || e.tracked != nil {
			continue
		}
		merged := p
		if e.pol != (Policy{}) {
			merged = e.pol.Merge(p)
		}
		if merged == e.pol {
			continue
		}
		e.pol = merged
		if e.busy || e.lastErr != nil || !e.planned {
			continue
		}
		s.planEntry(e)
		if first := FirstReread(e.timing, merged, s.o.Rand()); !first.IsZero() && first.Before(e.next) {
			e.next = first
		}
		wake = wake || s.sleepUntil.IsZero() || e.next.Before(s.sleepUntil)
	}
	s.mu.Unlock()
	if wake {
		s.poke()
	}
}

// policy is the policy e follows. Called with s.mu held.
func (s *Store) policy(e *entry) Policy {
	if e.pol != (Policy{}) {
		return e.pol
	}
	return s.o.Policy
}
