// Package lease is rotor's renewal scheduler: the one place that knows
// every secret rotor holds, its lease, its deadline (including the death
// of the token that owns it) and the templates that use it.
//
// Timing decisions are pure functions (this file and limits.go); the
// rules a lease shares with rotor's token (renew at 2/3, jitter, the
// safe-TTL margin, capped renewals) are internal/lifetime's. store.go
// owns the state; run.go is the one goroutine that plans and starts
// actions, each in a worker of its own (work.go), earliest deadline first;
// slots.go bounds the Vault requests in flight; secret.go and snapshot.go
// are rotor's own value type and state file format.
package lease

import (
	"time"

	"github.com/rotorproject/rotor/internal/lifetime"
)

// Class says how a secret's life is measured.
type Class int

// Secret classes.
const (
	// ClassStatic has no lease (KV v1/v2, most writes): re-read every
	// static_secret_render_interval.
	ClassStatic Class = iota
	// ClassLease has a Vault lease (dynamic DB/AWS creds, PKI with
	// generate_lease): renewed if renewable, else re-fetched.
	ClassLease
	// ClassCert is a certificate: re-issued at a fraction of its validity.
	ClassCert
	// ClassRotating is a database static role: re-read just after Vault
	// rotates its password.
	ClassRotating
)

func (c Class) String() string {
	return [...]string{"static", "lease", "cert", "rotating"}[c]
}

// Op is the request the scheduler makes next for a secret: renew its
// lease, or fetch it (again). The policy's lifetime.Replace of a lease is
// an OpRefetch; so is every re-read of a secret without a lease.
type Op int

// Ops. The zero Op is none: an entry not yet planned.
const (
	OpRenew   Op = iota + 1 // extend the lease
	OpRefetch               // get a new secret (or re-read it)
)

// String is the op's name in rotor status ("next_action").
func (a Op) String() string {
	switch a {
	case OpRenew:
		return "renew"
	case OpRefetch:
		return "refetch"
	}
	return "none"
}

// Timing is what the scheduler knows of one secret's life. The JSON
// names are those of rotor's state file.
type Timing struct {
	Class Class `json:"class"`
	// Issued is when the current value or lease TTL was granted.
	Issued time.Time `json:"issued"`
	// Born is when the lease was first issued; renewals keep it
	// (ClassLease; zero in state files from before it was kept).
	Born time.Time `json:"born,omitzero"`
	// Expires is the end of the lease itself (ClassLease).
	Expires   time.Time `json:"expires,omitzero"`
	Renewable bool      `json:"renewable,omitempty"`
	// Capped is set when the last renewal granted less than it asked:
	// the lease's max TTL is near and renewal cannot extend it.
	Capped bool `json:"capped,omitempty"`
	// NotBefore and NotAfter bound a certificate's validity (ClassCert).
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// RotatesAt is when Vault rotates a static role's password (ClassRotating).
	RotatesAt time.Time `json:"rotates_at,omitzero"`
	// OwnerDeath is when the token that owns the lease dies, once that is
	// final: a new login replaced the token and rotor no longer renews
	// it. Vault revokes a token's leases with it, so the secret is usable
	// until the earlier of its own end and OwnerDeath (see Deadline), and
	// renewing it cannot help. Zero for secrets without a lease, and
	// while the owner is the current token: its renewals keep moving its
	// death, and its leases are bound when it is replaced.
	OwnerDeath time.Time `json:"owner_death,omitzero"`
}

// Policy holds the configured knobs.
type Policy struct {
	// Threshold is lease_renewal_threshold: the fraction of a
	// non-renewable life after which the secret is fetched again.
	Threshold float64
	// StaticInterval is static_secret_render_interval.
	StaticInterval time.Duration
}

// Or fills p's unset (zero) fields from d: a template's own setting over
// the global one.
func (p Policy) Or(d Policy) Policy {
	if p.Threshold == 0 {
		p.Threshold = d.Threshold
	}
	if p.StaticInterval == 0 {
		p.StaticInterval = d.StaticInterval
	}
	return p
}

// Merge is the policy that serves two consumers of one secret: the
// earlier threshold and the shorter interval, so that neither gets its
// secret later than it asked. A zero field takes the other's value.
func (p Policy) Merge(o Policy) Policy {
	if o.Threshold != 0 && (p.Threshold == 0 || o.Threshold < p.Threshold) {
		p.Threshold = o.Threshold
	}
	if o.StaticInterval != 0 && (p.StaticInterval == 0 || o.StaticInterval < p.StaticInterval) {
		p.StaticInterval = o.StaticInterval
	}
	return p
}

// rotationDelay is how long after a static role's rotation it is read.
const rotationDelay = time.Second

// life is a lease's life as the timing policy sees it (ClassLease).
func (t Timing) life() lifetime.Life {
	return lifetime.Life{Born: t.Born, Issued: t.Issued, Expires: t.Expires, Renewable: t.Renewable, Capped: t.Capped}
}

// renewed records a renewal at now that asked for asked and was granted
// granted (see lifetime.Life.Renewed).
func (t *Timing) renewed(now time.Time, asked, granted time.Duration, renewable bool) {
	l := t.life().Renewed(now, asked, granted, renewable)
	t.Issued, t.Expires, t.Renewable, t.Capped = l.Issued, l.Expires, l.Renewable, l.Capped
}

// Next decides what to do with a secret and when. It is pure; r in [0,1)
// is the random draw for jitter. Jitter only ever moves an action earlier,
// so a deadline stays a deadline. Leases follow the shared lifetime
// policy (lifetime.Next, with Threshold as its replacement fraction);
// the other classes are the scheduler's own:
//
//   - renewable lease: renew at ~2/3 of its TTL;
//   - lease that renewal cannot extend (capped or not renewable): fetch a
//     new secret at Threshold of its remaining life, jittered by up to a
//     tenth of its whole life since Born;
//   - certificate: re-issue at Threshold of NotBefore..NotAfter;
//   - static role: re-read just after the rotation, plus up to a second,
//     or at StaticInterval if sooner;
//   - anything else: re-read every StaticInterval;
//   - and a lease whose owner token was replaced (OwnerDeath set) is
//     fetched again with the current token, at ~2/3 of the time from
//     Issued to the owner's death, or sooner if the rules above say so.
func Next(t Timing, p Policy, r float64) (Op, time.Time) {
	act, when := nextOwn(t, p, r)
	if t.OwnerDeath.IsZero() {
		return act, when
	}
	// Renewing would keep the lease tied to a token that is going away;
	// only a new secret outlives it. 2/3 of the time left, like a
	// renewal, leaves a third for retries before the owner dies.
	life := t.OwnerDeath.Sub(t.Issued)
	if life <= 0 {
		return OpRefetch, t.OwnerDeath
	}
	if owner := lifetime.At(t.Issued, life, lifetime.RenewAt, r); owner.Before(when) {
		when = owner
	}
	return OpRefetch, when
}

// nextOwn is Next for the secret alone, regardless of its owner token.
func nextOwn(t Timing, p Policy, r float64) (Op, time.Time) {
	switch t.Class {
	case ClassLease:
		// A lease's Expires is always set; were it zero (NoAction), the
		// zero time would fetch it at once, as an ended lease.
		d, when := lifetime.Next(t.life(), p.Threshold, r)
		if d == lifetime.Renew {
			return OpRenew, when
		}
		return OpRefetch, when
	case ClassCert:
		life := t.NotAfter.Sub(t.NotBefore)
		if life <= 0 {
			return OpRefetch, t.Issued
		}
		return OpRefetch, lifetime.At(t.NotBefore, life, p.Threshold, r)
	case ClassRotating:
		// Just after Vault's scheduled rotation, or at the static interval
		// if that is sooner: a rotation forced with rotate-credentials does
		// not wait for the next scheduled one.
		static := lifetime.At(t.Issued, p.StaticInterval, 1, r)
		if !t.RotatesAt.IsZero() {
			if rot := t.RotatesAt.Add(rotationDelay + time.Duration(r*float64(time.Second))); rot.Before(static) {
				return OpRefetch, rot
			}
		}
		return OpRefetch, static
	}
	return OpRefetch, lifetime.At(t.Issued, p.StaticInterval, 1, r)
}

// FirstReread is when a static secret read for the first time is read
// again: at a random point from a tenth of StaticInterval to all of it.
// Every later read waits a whole interval (less Next's jitter), so this
// first one sets the secret's phase: agents started together (a deploy)
// and templates loaded together spread over the interval instead of
// re-reading in step for good, which a tenth of jitter per read would
// undo only slowly. It costs at most one read per secret per start.
// Zero when there is no interval.
func FirstReread(t Timing, p Policy, r float64) time.Time {
	if t.Class != ClassStatic || p.StaticInterval <= 0 {
		return time.Time{}
	}
	return t.Issued.Add(p.StaticInterval - time.Duration(0.9*r*float64(p.StaticInterval)))
}

// Deadline is when the secret stops being usable: the time the scheduler
// must act before. It is the earlier of the secret's own end (a lease's
// expiry, a certificate's NotAfter) and its owner token's death. Zero when
// unknown (static secrets).
func Deadline(t Timing) time.Time {
	var d time.Time
	switch t.Class {
	case ClassLease:
		d = t.Expires
	case ClassCert:
		d = t.NotAfter
	}
	if !t.OwnerDeath.IsZero() && (d.IsZero() || t.OwnerDeath.Before(d)) {
		d = t.OwnerDeath
	}
	return d
}

// TokenBoundAt spreads the re-fetch of the n secrets that die with an old
// token: the i-th is fetched at a point in [now, now + half the time left],
// so that they neither arrive in one burst nor come too late. death is
// when the old token dies; zero or past means it is already dead.
func TokenBoundAt(now, death time.Time, i, n int) time.Time {
	window := death.Sub(now) / 2
	if death.IsZero() || window <= 0 {
		window = time.Second
	}
	window = min(window, 30*time.Second)
	if n <= 1 {
		return now
	}
	return now.Add(window * time.Duration(i) / time.Duration(n))
}
