package auth

import (
	"time"
)

// Action is what the lifecycle does next with a token.
type Action int

// Actions, in order of escalation.
const (
	ActionNone    Action = iota // the token never expires: nothing to do
	ActionRenew                 // renew-self at the given time
	ActionRelogin               // log in again at the given time
)

func (a Action) String() string {
	return [...]string{"none", "renew", "relogin"}[a]
}

// Fractions of a token's remaining life at which rotor acts. Renewal at
// about 2/3 leaves a third of the TTL for retries if Vault is briefly
// down; a re-login when renewal can no longer extend the token happens at
// about 80% so the new token is in place well before the old one dies.
const (
	renewFraction   = 2.0 / 3.0
	reloginFraction = 0.8
	jitterFraction  = 0.1
)

// NextAction decides when and how to act on a token. It is pure: r in
// [0,1) is the random draw for jitter, which moves the time earlier by up
// to 10% of the remaining life so that many agents started together spread
// their requests.
//
// A renewable token that is not capped is renewed at ~2/3 of its life. A
// token that cannot be renewed (not renewable, or capped by its max TTL) is
// replaced by a new login at ~80% of its life. A time already past is
// returned as is: the caller acts at once.
func NextAction(t *Token, r float64) (Action, time.Time) {
	if t.Expires.IsZero() {
		return ActionNone, time.Time{}
	}
	life := t.Expires.Sub(t.Issued)
	if life <= 0 {
		return ActionRelogin, t.Expires
	}
	frac, act := reloginFraction, ActionRelogin
	if t.Renewable && !t.Capped {
		frac, act = renewFraction, ActionRenew
	}
	at := time.Duration(float64(life) * (frac - jitterFraction*r))
	return act, t.Issued.Add(at)
}

// renewed returns the token's state after a renewal that asked for
// CreationTTL and was granted ttl at now.
func (t *Token) renewed(ttl time.Duration, now time.Time) *Token {
	n := *t
	n.Issued = now
	n.Expires = now.Add(safeTTL(ttl))
	// Vault grants min(increment, time left before max TTL); a grant one
	// second or more short of the ask means the max TTL is in sight.
	n.Capped = ttl+time.Second < t.CreationTTL
	return &n
}
