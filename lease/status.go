package lease

import (
	"sort"
	"strings"
	"time"
)

// Status describes one secret for operators. It holds no secret value:
// the lease ID keeps only its path, not the random part that would let
// someone renew or revoke it.
type Status struct {
	Key        string    `json:"-"`
	Path       string    `json:"path"`
	Engine     string    `json:"engine"`
	Class      string    `json:"class"`
	LeaseID    string    `json:"lease_id,omitempty"`
	Renewable  bool      `json:"renewable"`
	Expires    time.Time `json:"expires,omitzero"`
	NextAction string    `json:"next_action"`
	NextAt     time.Time `json:"next_at"`
	LastError  string    `json:"last_error,omitempty"`
	// ErrorClass is the last error's vaulterr class, which says how it is
	// retried: vault_unavailable or rate_limited within seconds;
	// vault_denied, secret_not_found, invalid_request or too_large every
	// few minutes (Vault refuses it until someone changes Vault);
	// bad_token after a new login; config.
	ErrorClass string `json:"error_class,omitempty"`
	// TokenBound is set when the lease ends with the token that owns it
	// (Expires is then that token's death), before its own end.
	TokenBound bool `json:"token_bound,omitempty"`
}

// Status lists every secret the store holds, sorted by path. Expires is
// when the secret stops being usable: the earlier of its own end and the
// death of the token that owns its lease, when that death is final (the
// token was replaced, or cannot be renewed any more).
func (s *Store) Status() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.entries))
	for k, e := range s.entries {
		if e.held != nil {
			continue // see Held
		}
		t := e.timing
		if cur := s.tok; e.leaseID != "" && t.OwnerDeath.IsZero() && cur != nil && e.owner == cur.Generation &&
			!cur.Expires.IsZero() && !cur.Life().Renews() {
			t.OwnerDeath = cur.Expires
		}
		path := e.ref.String()
		if e.tracked != nil {
			path = "proxy cache: token"
			if e.leaseID != "" {
				path = "proxy cache: " + redactLease(e.leaseID)
			}
		}
		st := Status{
			Key: k, Path: path, Engine: engine(path), Class: e.timing.Class.String(),
			LeaseID: redactLease(e.leaseID), Renewable: e.timing.Renewable && e.timing.Class == ClassLease,
			Expires: Deadline(t), NextAction: e.op.String(), NextAt: e.next,
		}
		st.TokenBound = !t.OwnerDeath.IsZero() && st.Expires.Equal(t.OwnerDeath)
		if e.waiting && s.probe.down {
			st.NextAt = s.probe.next // it waits for Vault to answer again
		}
		if e.lastErr != nil {
			st.LastError, st.ErrorClass = e.lastErr.Error(), e.errClass.String()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// engine is the mount a path belongs to, as far as the path tells:
// its first segment ("database", "pki_int", "secret").
func engine(p string) string {
	first, _, _ := strings.Cut(p, "/")
	return first
}

// redactLease keeps a lease ID's path and drops its random last part.
func redactLease(id string) string {
	if id == "" {
		return ""
	}
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return "[redacted]"
	}
	return id[:i+1] + "[redacted]"
}
