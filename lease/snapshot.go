package lease

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// StateVersion is the format of the secrets in rotor's state file that
// this rotor reads and writes. Version 1 was the unversioned format of
// earlier rotors (consul-template's field names).
const StateVersion = 2

// SecretState is one secret as kept in rotor's state file.
type SecretState struct {
	Ref    Ref      `json:"ref"`
	Secret *Secret  `json:"secret,omitempty"`
	List   []string `json:"list,omitempty"`
	Timing Timing   `json:"timing"`
	// LeaseID and LeaseTTL: the lease, and the TTL renewals ask for.
	LeaseID  string        `json:"lease_id,omitempty"`
	LeaseTTL time.Duration `json:"lease_ttl_ns,omitempty"`
}

// SavedSecrets is the secrets part of the state file, with its format
// version. Marshalling always writes StateVersion. Unmarshalling never
// fails on another version: it keeps the version it found and no
// secrets, and Check says why, so that a file from another rotor is
// refused whole rather than misread.
type SavedSecrets struct {
	Version int           `json:"version"`
	Secrets []SecretState `json:"secrets"`
}

// VersionError is a state file written in a format this rotor does not read.
type VersionError struct{ Found, Want int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("format version %d, this rotor reads %d", e.Found, e.Want)
}

// Check reports a format version this rotor cannot read (*VersionError).
func (s SavedSecrets) Check() error {
	if s.Version != StateVersion && (s.Version != 0 || len(s.Secrets) > 0) {
		return &VersionError{Found: s.Version, Want: StateVersion}
	}
	return nil
}

// MarshalJSON writes the current format.
func (s SavedSecrets) MarshalJSON() ([]byte, error) {
	type plain SavedSecrets
	s.Version = StateVersion
	if s.Secrets == nil {
		s.Secrets = []SecretState{}
	}
	return json.Marshal(plain(s))
}

// UnmarshalJSON reads any version (see SavedSecrets). Numbers in secret
// data stay json.Number, as the Vault client gives them.
func (s *SavedSecrets) UnmarshalJSON(b []byte) error {
	*s = SavedSecrets{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '[':
		s.Version = 1 // the unversioned list of earlier rotors
		return nil
	}
	var head struct {
		Version int             `json:"version"`
		Secrets json.RawMessage `json:"secrets"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	s.Version = head.Version
	if head.Version != StateVersion || len(head.Secrets) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(head.Secrets))
	dec.UseNumber()
	return dec.Decode(&s.Secrets)
}

// Snapshot returns every secret the store holds, for the state file.
func (s *Store) Snapshot() []SecretState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SecretState, 0, len(s.entries))
	for _, e := range s.entries {
		if e.tracked != nil {
			continue // the proxy saves its own cache
		}
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
// leases keep their schedule. A lease saved as owned by an older token
// keeps that token's death. It returns how many were restored.
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
			leaseID: st.LeaseID, leaseTTL: st.LeaseTTL, owner: tokenGen}
		switch {
		case e.timing.Class == ClassLease && e.timing.life().Renews() && e.timing.OwnerDeath.IsZero():
			e.op, e.next, e.planned = OpRenew, now, true
		case e.timing.Class == ClassStatic || e.timing.Class == ClassRotating:
			e.op, e.next, e.planned = OpRefetch, now, true
		}
		s.entries[st.Ref.Key()] = e
		s.valuesVer++
		n++
	}
	s.poke()
	return n
}

// MarshalText names the class in the state file.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a class name.
func (c *Class) UnmarshalText(b []byte) error {
	for i, name := range [...]string{"static", "lease", "cert", "rotating"} {
		if string(b) == name {
			*c = Class(i)
			return nil
		}
	}
	return fmt.Errorf("unknown secret class %q", b)
}

var kindNames = [...]string{"read", "write", "list"}

// MarshalText names the kind in the state file.
func (k Kind) MarshalText() ([]byte, error) { return []byte(kindNames[k]), nil }

// UnmarshalText reads a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if string(b) == name {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown secret kind %q", b)
}

// Seed makes the store hold sec as the answer to ref, with timing t,
// unless it already holds one (a fetch got there first): a certificate
// found still valid at a template's destination is used instead of a new
// one. It reports whether it did. Run plans the next action from t.
func (s *Store) Seed(ref Ref, sec *Secret, t Timing) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ref.Key()
	if _, ok := s.entries[key]; ok {
		return false
	}
	owner := 0
	if s.tok != nil {
		owner = s.tok.Generation
	}
	e := &entry{ref: ref, val: Value{Secret: sec}, timing: t, owner: owner}
	e.op, e.next = Next(t, s.o.Policy, s.o.Rand())
	e.planned = true
	s.entries[key] = e
	s.valuesVer++
	return true
}
