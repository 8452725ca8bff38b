// Package lifetime is rotor's one timing policy for what Vault grants for
// a time: rotor's token (auth) and every secret's lease (lease). It says
// how long a granted TTL is counted on (Expiry), whether a renewal reached
// the max TTL (Life.Renewed), whether renewing can still extend a life
// (Life.Renews), and when to act on it (Next): renew it, or replace it (a
// new login for a token, a new secret for a lease).
//
// Every function here is pure: time comes in as arguments and randomness
// as a draw r in [0,1), so callers inject their clock and random source
// and tests pin exact times. It imports nothing of rotor's.
package lifetime

import (
	"strings"
	"time"
)

// Fractions of a life at which rotor acts, and the jitter on them.
const (
	// RenewAt is the fraction of a renewable life at which it is renewed:
	// a third of the TTL is left for retries if Vault is briefly down.
	// (Vault's own lifetime watcher renews at 2/3 too.)
	RenewAt = 2.0 / 3.0
	// ReloginAt is the fraction of a token's life, once renewal cannot
	// extend it (not renewable, batch, or capped by its max TTL), at which
	// rotor logs in again: the new token is in place well before the old
	// one dies. A lease's equivalent is lease_renewal_threshold (0.9 by
	// default, Vault Agent's), given to Next by the scheduler.
	ReloginAt = 0.8
	// Jitter is the most the jitter moves an action earlier, as a fraction
	// of the life: a real fraction of it, so that grants issued together
	// (many agents started by one deploy, several certificates) spread over
	// seconds to minutes instead of acting in the same second. Jitter only
	// ever moves an action earlier, so a deadline stays a deadline.
	Jitter = 0.1
	// Margin is taken off every granted TTL (never more than half of it):
	// Vault reports TTLs in whole seconds, rounded, and counts them from
	// before its answer reached rotor, so a reported "1s" may be 0.4s.
	Margin = time.Second
)

// Kind is the sort of grant a Life describes. With Renewable and Capped it
// decides between renewing and replacing.
type Kind int

// Kinds.
const (
	// Service is a service token or a secret's lease: renewed while Vault
	// says it is renewable and until a renewal is capped by its max TTL.
	Service Kind = iota
	// Batch is a batch token: Vault never renews one, so it is replaced
	// by a new login before it ends, whatever "renewable" said.
	Batch
	// Periodic is a periodic service token: every renewal grants its
	// period, whatever was asked, so a grant is capped only when it falls
	// short of the period (an explicit max TTL is near), not of the ask.
	Periodic
)

func (k Kind) String() string {
	return [...]string{"service", "batch", "periodic"}[k]
}

// KindOf tells a token's kind from its value and its period (from a
// lookup; zero when unknown). Batch tokens carry their type in their
// prefix: "hvb." since Vault 1.10, "b." before.
func KindOf(token string, period time.Duration) Kind {
	switch {
	case strings.HasPrefix(token, "hvb.") || strings.HasPrefix(token, "b."):
		return Batch
	case period > 0:
		return Periodic
	}
	return Service
}

// Life is what rotor knows of one grant's life: a token's or a lease's.
type Life struct {
	Kind Kind
	// Period is a periodic token's period (Kind Periodic); zero otherwise.
	Period time.Duration
	// Born is when the grant was first issued; renewals keep it. Zero
	// when unknown: Issued stands in for it.
	Born time.Time
	// Issued is when the current TTL was granted (the first grant or the
	// last renewal).
	Issued time.Time
	// Expires is when the grant ends unless renewed, Margin already taken
	// off (see Expiry); zero if it never expires.
	Expires   time.Time
	Renewable bool
	// Capped is set when the last renewal granted less than it asked:
	// the max TTL is near and renewal cannot extend the life past Expires.
	Capped bool
}

// Decision is what to do next with a Life.
type Decision int

// Decisions, in order of escalation.
const (
	NoAction Decision = iota // it never expires: nothing to do
	Renew                    // renew it (a token's renew-self, a lease's renewal)
	Replace                  // get a new one (a token: log in again; a lease: fetch again)
)

func (d Decision) String() string {
	return [...]string{"none", "renew", "replace"}[d]
}

// Expiry is when a TTL granted at now is counted to end: ttl less Margin,
// never less than half of ttl, so rotor never acts on a grant after it
// died.
func Expiry(now time.Time, ttl time.Duration) time.Time {
	return now.Add(ttl - min(Margin, ttl/2))
}

// Capped reports whether a renewal that asked for asked and was granted
// granted has reached the max TTL. Vault grants min(increment, time left
// before the max TTL) and reports whole seconds, so a grant one second or
// more short of the ask means the max TTL is in sight.
func Capped(asked, granted time.Duration) bool {
	return granted+time.Second < asked
}

// Renews reports whether renewing can still extend l: it is renewable,
// not a batch token, and its last renewal was not capped.
func (l Life) Renews() bool {
	return l.Kind != Batch && l.Renewable && !l.Capped
}

// Renewed returns l after a renewal at now that asked for asked and was
// granted granted, Vault saying whether it is still renewable. A periodic
// token is measured against its period, which Vault grants whatever was
// asked.
func (l Life) Renewed(now time.Time, asked, granted time.Duration, renewable bool) Life {
	if l.Kind == Periodic && l.Period > 0 {
		asked = l.Period
	}
	l.Issued, l.Expires, l.Renewable = now, Expiry(now, granted), renewable
	l.Capped = Capped(asked, granted)
	return l
}

// Next decides what to do with l and when; r in [0,1) is the random draw
// for jitter. replaceAt is the fraction of a life that renewal cannot
// extend at which it is replaced (ReloginAt for a token, the lease renewal
// threshold for a lease). A time already past is returned as is: the
// caller acts at once.
//
//   - a life that never expires (Expires zero): NoAction;
//   - a life already over (Expires not after Issued): Replace at Expires;
//   - a life renewal can extend (Renews): Renew at RenewAt of it, moved
//     earlier by up to Jitter of it;
//   - any other: Replace at replaceAt of what is left since Issued, moved
//     earlier by up to Jitter of its whole life since Born, but never
//     before Issued.
//
// The replacement's jitter spans the whole life, not the stretch left
// since the last renewal: grants issued together (a deploy) reach their
// max TTL together, and a tenth of that last stretch would keep them in
// step for good. A token has no Born (each login is a new life), so its
// jitter is a tenth of its current life.
func Next(l Life, replaceAt, r float64) (Decision, time.Time) {
	if l.Expires.IsZero() {
		return NoAction, time.Time{}
	}
	life := l.Expires.Sub(l.Issued)
	if life <= 0 {
		return Replace, l.Expires
	}
	if l.Renews() {
		return Renew, At(l.Issued, life, RenewAt, r)
	}
	whole := life
	if !l.Born.IsZero() && l.Born.Before(l.Issued) {
		whole = l.Expires.Sub(l.Born)
	}
	when := At(l.Issued, life, replaceAt, 0).Add(-time.Duration(Jitter * r * float64(whole)))
	if when.Before(l.Issued) {
		when = l.Issued
	}
	return Replace, when
}

// At returns start + span*(frac - Jitter*r), never before start: the
// jittered point at frac of a span. The scheduler uses it for what is not
// a Life too (a certificate's validity, a static secret's interval).
func At(start time.Time, span time.Duration, frac, r float64) time.Time {
	f := max(frac-Jitter*r, 0)
	return start.Add(time.Duration(float64(span) * f))
}
