package lease

import (
	"sort"
	"time"

	"github.com/hashicorp/consul-template/dependency"
	"github.com/rotorproject/rotor/internal/backoff"
)

// SecretState is one secret as kept in rotor's state file.
type SecretState struct {
	Ref      Ref
	Secret   *dependency.Secret `json:",omitempty"`
	List     []string           `json:",omitempty"`
	Timing   Timing
	LeaseID  string        `json:",omitempty"`
	LeaseTTL time.Duration `json:",omitempty"`
}

// Snapshot returns every secret the store holds, for the state file.
func (s *Store) Snapshot() []SecretState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SecretState, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, SecretState{Ref: e.ref, Secret: e.val.Secret, List: e.val.List, Timing: e.timing, LeaseID: e.leaseID, LeaseTTL: e.leaseTTL})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref.Key() < out[j].Ref.Key() })
	return out
}

// Restore loads secrets saved by a previous run whose token is still
// valid (tokenGen is that token's generation now), before the first
// render: templates then render the same content, so no file changes and
// no new credentials are issued. Renewable leases are renewed at once,
// which also proves they still exist (a failed renewal fetches a new
// secret); secrets without a lease are read again at once, being cheap
// and possibly changed while rotor was down; certificates and other
// leases keep their schedule. It returns how many were restored.
func (s *Store) Restore(states []SecretState, tokenGen int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Clock.Now()
	n := 0
	for _, st := range states {
		if st.Secret == nil && st.List == nil {
			continue
		}
		if d := Deadline(st.Timing); !d.IsZero() && !d.After(now) {
			continue // expired while rotor was down
		}
		e := &entry{ref: st.Ref, val: Value{Secret: st.Secret, List: st.List}, timing: st.Timing,
			leaseID: st.LeaseID, leaseTTL: st.LeaseTTL, tokenGen: tokenGen,
			b: backoff.New(time.Second, time.Minute).WithRand(s.o.Rand)}
		e.action, e.next = Next(e.timing, s.o.Policy, s.o.Rand())
		switch {
		case e.timing.Class == ClassLease && e.timing.Renewable && !e.timing.Capped:
			e.action, e.next = ActionRenew, now
		case e.timing.Class == ClassStatic || e.timing.Class == ClassRotating:
			e.action, e.next = ActionRefetch, now
		}
		s.entries[st.Ref.Key()] = e
		n++
	}
	return n
}
