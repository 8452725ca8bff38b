package auth

import (
	"log/slog"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/lifetime"
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
	// Kind is service, batch (never renewed) or periodic (each renewal
	// grants Period): see lifetime.Kind.
	Kind lifetime.Kind
	// Period is a periodic token's period, learnt from a lookup; zero
	// when unknown (a fresh login) or not periodic.
	Period time.Duration
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
		Kind:        lifetime.KindOf(a.ClientToken, 0),
	}
	// A TTL of zero is a token that never expires (a root token, say).
	if a.LeaseDuration > 0 {
		t.Expires = lifetime.Expiry(now, t.CreationTTL)
	}
	return t
}

// Life is the token's life as the timing policy sees it.
func (t *Token) Life() lifetime.Life {
	return lifetime.Life{Kind: t.Kind, Period: t.Period, Issued: t.Issued, Expires: t.Expires,
		Renewable: t.Renewable, Capped: t.Capped}
}

// next decides when and how the lifecycle acts on t: renew it at about
// 2/3 of its life, or, once renewal cannot extend it, log in again at
// lifetime.ReloginAt of it (see lifetime.Next). r in [0,1) is the jitter
// draw.
func (t *Token) next(r float64) (lifetime.Decision, time.Time) {
	return lifetime.Next(t.Life(), lifetime.ReloginAt, r)
}

// renewed returns the token's state after a renewal at now that asked for
// CreationTTL and was granted ttl, Vault saying whether it is still
// renewable.
func (t *Token) renewed(ttl time.Duration, renewable bool, now time.Time) *Token {
	l := t.Life().Renewed(now, t.CreationTTL, ttl, renewable)
	n := *t
	n.Issued, n.Expires, n.Renewable, n.Capped = l.Issued, l.Expires, l.Renewable, l.Capped
	return &n
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
