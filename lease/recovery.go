package lease

import (
	"sort"
	"time"
)

// Recovery after an outage. While Vault cannot be reached, the store
// sends nothing but a health probe (probe.go); the secrets that came due
// or failed meanwhile wait for it. When Vault answers again, vaultBack
// plans them with RecoveryAt: what has ended or is about to is fetched
// first, at once and then evenly over urgentWindow; what is still valid
// waits its turn at a random point of recoverySpread.
//
// The numbers are for a fleet coming back together. Each agent notices
// Vault's return at its own probe phase, uniform over probeInterval, so
// the fleet's first urgent requests are spread over probeInterval; an
// agent's second comes urgentWindow/2 later, after the whole fleet's
// first. Measured in bench/fleet (200 agents, each with an ended
// database lease and an ended certificate after a 60 s outage): every
// agent's new database credentials within 6 s of Vault's return and no
// second sending more than 2.5 times the steady mean.
const (
	// urgentWindow spreads one agent's ended (or ending) secrets: the
	// i-th of n at i*urgentWindow/n after Vault's return. A secret with
	// less than urgentWindow left is urgent.
	urgentWindow = 12 * time.Second
	// recoverySpread bounds the wait of a secret that is still valid: a
	// random point of it, or of half the time the secret has left.
	recoverySpread = 30 * time.Second
)

// Waiting is one secret that waited out an outage, as RecoveryOrder and
// RecoveryAt see it.
type Waiting struct {
	Key      string
	Class    Class
	Deadline time.Time // zero: none (a static secret)
}

// Urgent reports whether w has ended, or ends within urgentWindow of now.
func (w Waiting) Urgent(now time.Time) bool {
	return !w.Deadline.IsZero() && w.Deadline.Sub(now) <= urgentWindow
}

// rank orders urgent secrets: Vault enforces a lease's end itself (it
// revokes the database user, the cloud credentials), while an ended
// certificate fails only at a peer's next handshake, so leases go first.
func rank(c Class) int {
	switch c {
	case ClassLease:
		return 0
	case ClassCert:
		return 1
	}
	return 2
}

// RecoveryOrder sorts ws in the order they are tried once Vault answers
// again at now: urgent before the rest; among urgent ones leases before
// certificates before the rest, then the earliest deadline; then by key,
// so the order is stable. It returns the number of urgent ones.
func RecoveryOrder(now time.Time, ws []Waiting) int {
	sort.Slice(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if ua, ub := a.Urgent(now), b.Urgent(now); ua != ub {
			return ua
		}
		if ra, rb := rank(a.Class), rank(b.Class); ra != rb {
			return ra < rb
		}
		if !a.Deadline.Equal(b.Deadline) {
			return !a.Deadline.IsZero() && (b.Deadline.IsZero() || a.Deadline.Before(b.Deadline))
		}
		return a.Key < b.Key
	})
	n := 0
	for _, w := range ws {
		if w.Urgent(now) {
			n++
		}
	}
	return n
}

// RecoveryAt is when the i-th secret of RecoveryOrder's order, of which
// the first urgent are urgent, is tried once Vault answers again at now.
// It is pure; r in [0,1) is the draw for a secret that is still valid.
//
// The i-th urgent secret goes at i*urgentWindow/urgent: the first at
// once. One that is still valid goes at a random point of recoverySpread,
// or of half the time it has left if that is shorter, so it is tried
// again before it ends.
func RecoveryAt(now time.Time, w Waiting, i, urgent int, r float64) time.Time {
	if i < urgent {
		return now.Add(urgentWindow * time.Duration(i) / time.Duration(urgent))
	}
	spread := recoverySpread
	if !w.Deadline.IsZero() {
		spread = min(spread, w.Deadline.Sub(now)/2)
	}
	return now.Add(time.Duration(r * float64(max(spread, 0))))
}

// Dephase is when a secret fetched or renewed in a recovery acts next,
// given next, the time Next planned, and now: a random point of the
// second half of the wait, drawn with r in [0,1). A fleet that an outage
// put in step fetches its secrets within seconds of each other; without
// this their renewals and re-issues would stay in step, and a minute
// later a database lease's third renewal would meet a certificate's
// re-issue in the same seconds (bench/fleet measured 3.0x the steady
// mean). It only ever moves an action earlier, and costs at most one
// request per secret per outage.
func Dephase(now, next time.Time, r float64) time.Time {
	if !next.After(now) {
		return next
	}
	return next.Add(-time.Duration(r * float64(next.Sub(now)) / 2))
}
