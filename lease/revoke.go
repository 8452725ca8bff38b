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
		if e.leaseID != "" && e.tracked == nil && want(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	leases := make([]string, len(keys))
	refs := make([]Ref, len(keys))
	for i, k := range keys {
		leases[i], refs[i] = s.entries[k].leaseID, s.entries[k].ref
	}
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
		if !e.busy && e.lastErr == nil && e.next.After(now) {
			e.planned = false
		}
	}
	s.mu.Unlock()
	s.poke()
}
