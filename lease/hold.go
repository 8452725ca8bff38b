package lease

import (
	"sort"
	"time"

	"github.com/hashicorp/vault/api"
)

// A template that confirms its consumer (template confirm {}) must not
// lose the lease it replaced before the consumer has moved to the new
// one: a database user dropped under a running application, or a
// certificate revoked while the server still presents it, is the outage
// rotation was meant to avoid. The runner names the secrets such
// templates use (Guard); when the scheduler replaces one of their leases,
// the old lease is held instead of being forgotten (or revoked, for rotor
// rotate): it is renewed while renewable and never revoked, until the
// runner releases it once the consumer is confirmed on its successor.
//
// A held lease is a tracked entry (tracked.go) renewed with rotor's own
// token: the scheduler renews it like any lease, never fetches it again,
// and drops it when it can no longer be renewed. It is not in Status
// (metrics and readiness are about the secrets in use), nor in the state
// file: after a restart it is no longer renewed and ends with its TTL.

// holdInfo marks an entry that holds a superseded lease.
type holdInfo struct {
	key    string    // the secret whose lease it was
	seq    uint64    // order of holds, for Release's mark
	since  time.Time // when it was superseded
	revoke bool      // superseded by rotor rotate: revoked when released
}

// heldPrefix starts a held entry's Tracked ID; the proxy's cache IDs are
// hashes and never start with it.
const heldPrefix = "held:"

// pendingRevoke is a released lease that rotor rotate wanted revoked.
type pendingRevoke struct {
	leaseID string
	ref     Ref
}

// Guard sets the secrets (by key) whose replaced leases are held until
// released. It replaces the previous set; held leases of secrets no
// longer guarded are released at once (and revoked if rotor rotate
// replaced them). It never blocks.
func (s *Store) Guard(keys []string) {
	s.mu.Lock()
	s.guarded = make(map[string]bool, len(keys))
	for _, k := range keys {
		s.guarded[k] = true
	}
	n := 0
	for k, e := range s.entries {
		if e.held != nil && !s.guarded[e.held.key] {
			s.releaseHeld(k, e)
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 {
		s.poke()
	}
}

// HoldMark is the position of the latest hold. A consumer confirmed on
// what it read after HoldMark returned m no longer needs the leases held
// up to m: pass m to Release.
func (s *Store) HoldMark() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holdSeq
}

// Release lets go of the leases held for the secret key up to mark (see
// HoldMark): they are no longer renewed, and those rotor rotate replaced
// are revoked now. Leases held after mark stay held: their successor was
// fetched after the confirmed render read the secret. It returns how many
// were released and never blocks.
func (s *Store) Release(key string, mark uint64) int {
	s.mu.Lock()
	n := 0
	for k, e := range s.entries {
		if e.held != nil && e.held.key == key && e.held.seq <= mark {
			s.releaseHeld(k, e)
			n++
		}
	}
	s.mu.Unlock()
	if n > 0 {
		s.poke()
	}
	return n
}

// releaseHeld drops the held entry e (at k). A renewal in flight is
// ignored when it comes back (apply finds the entry gone). Called with
// s.mu held.
func (s *Store) releaseHeld(k string, e *entry) {
	delete(s.entries, k)
	if e.held.revoke {
		s.revokes = append(s.revokes, pendingRevoke{leaseID: e.leaseID, ref: e.ref})
	}
	s.o.Logger.Info("superseded lease released", "secret", e.ref.String(), "revoke", e.held.revoke,
		"held_for", s.o.Clock.Now().Sub(e.held.since).Round(time.Second))
}

// hold keeps prev's lease alive when the entry e (prev before its
// re-fetch) replaced it and its secret is guarded. forced says rotor
// rotate asked for the re-fetch: the lease is then revoked when released
// instead of now. It reports whether the lease is held. Called with s.mu
// held.
func (s *Store) hold(prev entry, e *entry, forced bool) bool {
	key := e.ref.Key()
	if !s.guarded[key] || prev.leaseID == "" || prev.leaseID == e.leaseID {
		return false
	}
	now := s.o.Clock.Now()
	s.holdSeq++
	h := &entry{ref: prev.ref, leaseID: prev.leaseID, leaseTTL: prev.leaseTTL, timing: prev.timing, owner: prev.owner,
		tracked: &Tracked{ID: heldPrefix + prev.leaseID, LeaseID: prev.leaseID, TTL: prev.leaseTTL, Issued: prev.timing.Issued},
		held:    &holdInfo{key: key, seq: s.holdSeq, since: now, revoke: forced}}
	h.op, h.next = Next(h.timing, s.policy(&prev), s.o.Rand())
	h.planned = true
	s.entries[trackedKey(h.tracked.ID)] = h
	s.o.Logger.Info("superseded lease held until its consumer is confirmed on the new one", "secret", e.ref.String(),
		"renewable", h.timing.Renewable, "forced", forced)
	return true
}

// takeRevokes returns the released leases to revoke, with the client to
// revoke them with (nil before the first token).
func (s *Store) takeRevokes() ([]pendingRevoke, *api.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.revokes) == 0 || s.client == nil {
		return nil, nil
	}
	out := s.revokes
	s.revokes = nil
	return out, s.client
}

// HeldStatus describes one held lease for operators: like Status, its
// lease ID keeps only its path.
type HeldStatus struct {
	Path      string    `json:"path"`
	LeaseID   string    `json:"lease_id"`
	Since     time.Time `json:"since"`
	Renewable bool      `json:"renewable"`
	Expires   time.Time `json:"expires,omitzero"`
	// Revoke says rotor rotate replaced it: it is revoked when released.
	Revoke bool `json:"revoke_on_release,omitempty"`
}

// Held lists the superseded leases held for unconfirmed consumers,
// oldest first.
func (s *Store) Held() []HeldStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []HeldStatus
	for _, e := range s.entries {
		if e.held == nil {
			continue
		}
		out = append(out, HeldStatus{Path: e.ref.String(), LeaseID: redactLease(e.leaseID), Since: e.held.since,
			Renewable: e.timing.Renewable && e.timing.Class == ClassLease, Expires: Deadline(e.timing), Revoke: e.held.revoke})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Since.Equal(out[j].Since) {
			return out[i].Since.Before(out[j].Since)
		}
		return out[i].LeaseID < out[j].LeaseID
	})
	return out
}
