package auth

import (
	"log/slog"
	"time"

	"github.com/hashicorp/vault/api"
)

// Token is a Vault token and what rotor knows about its life. Its value is
// reachable only through Value; printing a Token never shows it.
type Token struct {
	value     string
	Accessor  string
	Policies  []string
	Renewable bool
	// CreationTTL is the TTL granted at login: what each renewal asks for.
	CreationTTL time.Duration
	// Issued is when the current TTL was granted (login or last renewal).
	Issued time.Time
	// Expires is when the token dies unless renewed; zero if it never expires.
	Expires time.Time
	// Capped means the last renewal granted less than it asked for: the
	// token's max TTL is near and it cannot be renewed past Expires.
	Capped bool
	// Generation counts logins since start: consumers compare it to see a new token.
	Generation int
	// Resumed is set on a token saved by a previous run and still valid.
	Resumed bool
	// PrevDeath is when the token this one replaced dies (it and its
	// leases); zero when it is already dead (revoked) or there was none.
	PrevDeath time.Time
	// Borrowed means rotor did not create the token (token_file,
	// VAULT_TOKEN): it uses it but never revokes it, since revoking it
	// would also revoke every child token and lease of its real owner.
	Borrowed bool
}

// NewToken builds a Token from a login answer received at now.
func NewToken(s *api.Secret, now time.Time) *Token {
	a := s.Auth
	t := &Token{
		value:       a.ClientToken,
		Accessor:    a.Accessor,
		Policies:    a.Policies,
		Renewable:   a.Renewable,
		CreationTTL: time.Duration(a.LeaseDuration) * time.Second,
		Issued:      now,
	}
	if a.LeaseDuration > 0 {
		t.Expires = now.Add(safeTTL(t.CreationTTL))
	}
	return t
}

// safeTTL is how long rotor counts on a granted TTL. Vault reports TTLs in
// whole seconds, rounded, and counts from before its answer reached us, so
// a reported "1s" may be 0.4s: rotor takes a second off (never more than
// half the TTL) so it never acts on a token after it died.
func safeTTL(ttl time.Duration) time.Duration {
	return ttl - min(time.Second, ttl/2)
}

// StaticToken wraps a token given by the environment; its TTL is unknown
// until looked up.
func StaticToken(value string) *Token { return &Token{value: value} }

// Value returns the secret token. Do not log it.
func (t *Token) Value() string { return t.value }

// String describes the token without its value.
func (t *Token) String() string { return "token(accessor=" + t.Accessor + ")" }

// LogValue makes slog print the accessor, never the value.
func (t *Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessor", t.Accessor), slog.Time("expires", t.Expires))
}

// Saved is a token as kept in the state file.
type Saved struct {
	Value       string
	Accessor    string
	CreationTTL time.Duration
	Borrowed    bool `json:",omitempty"`
}

// Save returns what the state file keeps of t.
func (t *Token) Save() Saved {
	return Saved{Value: t.value, Accessor: t.Accessor, CreationTTL: t.CreationTTL, Borrowed: t.Borrowed}
}

// FromSaved rebuilds a token from the state file; its TTL is looked up.
func FromSaved(s Saved) *Token {
	return &Token{value: s.Value, Accessor: s.Accessor, CreationTTL: s.CreationTTL, Borrowed: s.Borrowed}
}
