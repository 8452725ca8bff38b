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
func (s *Store) Revoke(ctx context.Context, want func(key string) bool) (int, error) {
	s.mu.Lock()
	c := s.client
	var keys []string
	for k, e := range s.entries {
		if e.leaseID != "" && want(k) {
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
	if c == nil {
		return 0, nil
	}
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
// is revoked once its successor is in place. It returns how many secrets
// were scheduled.
func (s *Store) Rotate(match func(key string) bool) int {
	s.mu.Lock()
	now := s.o.Clock.Now()
	n := 0
	for k, e := range s.entries {
		if match != nil && !match(k) {
			continue
		}
		e.action, e.next, e.forced = ActionRefetch, now, true
		n++
	}
	s.mu.Unlock()
	s.poke()
	return n
}

// Retain drops the secrets for which keep(key) is false: no template uses
// them any more, so they are not renewed or re-fetched. Their leases are
// left to expire. It returns how many were dropped.
func (s *Store) Retain(keep func(key string) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, e := range s.entries {
		if !keep(k) && !e.busy {
			delete(s.entries, k)
			n++
		}
	}
	return n
}

// SetPolicy changes the renewal settings (a reload); secrets pick them
// up at their next action.
func (s *Store) SetPolicy(p Policy) {
	s.mu.Lock()
	s.o.Policy = p
	s.mu.Unlock()
}
