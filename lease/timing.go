// Package lease is rotor's renewal scheduler: the one place that knows
// every secret rotor holds, its lease, its deadline and the templates that
// use it. Timing decisions are pure functions (this file); store.go owns
// the state and the goroutine that acts on it.
package lease

import "time"

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

// Action is what the scheduler does next with a secret.
type Action int

// Actions.
const (
	ActionRenew   Action = iota + 1 // extend the lease
	ActionRefetch                   // get a new secret (or re-read it)
)

func (a Action) String() string {
	switch a {
	case ActionRenew:
		return "renew"
	case ActionRefetch:
		return "refetch"
	}
	return "none"
}

// Timing is what the scheduler knows of one secret's life.
type Timing struct {
	Class Class
	// Issued is when the current value or lease TTL was granted.
	Issued time.Time
	// Expires is the end of the lease (ClassLease); already the earlier of
	// the lease's own end and its token's death, when that is known.
	Expires   time.Time
	Renewable bool
	// Capped is set when the last renewal granted less than it asked:
	// the lease's max TTL is near and renewal cannot extend it.
	Capped bool
	// NotBefore and NotAfter bound a certificate's validity (ClassCert).
	NotBefore, NotAfter time.Time
	// RotatesAt is when Vault rotates a static role's password (ClassRotating).
	RotatesAt time.Time
}

// Policy holds the configured knobs.
type Policy struct {
	// Threshold is lease_renewal_threshold: the fraction of a
	// non-renewable life after which the secret is fetched again.
	Threshold float64
	// StaticInterval is static_secret_render_interval.
	StaticInterval time.Duration
}

const (
	renewFraction = 2.0 / 3.0
	// jitterFraction of a life is the most the jitter moves an action
	// earlier: a real fraction of the life, so secrets issued together
	// (e.g. several certificates) spread over seconds to minutes instead of
	// acting in the same second.
	jitterFraction = 0.1
	// rotationDelay is how long after a static role's rotation it is read.
	rotationDelay = time.Second
)

// Next decides what to do with a secret and when. It is pure; r in [0,1)
// is the random draw for jitter. Jitter only ever moves an action earlier,
// so a deadline stays a deadline.
//
//   - renewable lease: renew at ~2/3 of its TTL;
//   - lease that renewal cannot extend (capped or not renewable): fetch a
//     new secret at Threshold of its remaining life;
//   - certificate: re-issue at Threshold of NotBefore..NotAfter;
//   - static role: re-read just after the rotation, plus up to a second,
//     or at StaticInterval if sooner;
//   - anything else: re-read every StaticInterval.
func Next(t Timing, p Policy, r float64) (Action, time.Time) {
	switch t.Class {
	case ClassLease:
		life := t.Expires.Sub(t.Issued)
		if life <= 0 {
			return ActionRefetch, t.Expires
		}
		if t.Renewable && !t.Capped {
			return ActionRenew, at(t.Issued, life, renewFraction, r)
		}
		return ActionRefetch, at(t.Issued, life, p.Threshold, r)
	case ClassCert:
		life := t.NotAfter.Sub(t.NotBefore)
		if life <= 0 {
			return ActionRefetch, t.Issued
		}
		return ActionRefetch, at(t.NotBefore, life, p.Threshold, r)
	case ClassRotating:
		// Just after Vault's scheduled rotation, or at the static interval
		// if that is sooner: a rotation forced with rotate-credentials does
		// not wait for the next scheduled one.
		static := at(t.Issued, p.StaticInterval, 1, r)
		if !t.RotatesAt.IsZero() {
			if rot := t.RotatesAt.Add(rotationDelay + time.Duration(r*float64(time.Second))); rot.Before(static) {
				return ActionRefetch, rot
			}
		}
		return ActionRefetch, static
	}
	return ActionRefetch, at(t.Issued, p.StaticInterval, 1, r)
}

// at returns start + life*(frac - jitter), never before start.
func at(start time.Time, life time.Duration, frac, r float64) time.Time {
	f := max(frac-jitterFraction*r, 0)
	return start.Add(time.Duration(float64(life) * f))
}

// Deadline is when the secret stops being usable: the time the scheduler
// must act before. Zero when unknown (static secrets).
func Deadline(t Timing) time.Time {
	switch t.Class {
	case ClassLease:
		return t.Expires
	case ClassCert:
		return t.NotAfter
	}
	return time.Time{}
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
