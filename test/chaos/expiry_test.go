//go:build linux

package chaos

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Test100LeasesExpiringTogether gives rotor 100 database leases issued
// within a second or two of each other, so that they would all expire
// together: each must be renewed within its window (after half its TTL,
// before its end), and jitter must spread the renewals out.
func Test100LeasesExpiringTogether(t *testing.T) {
	t.Parallel()
	const n = 100
	const ttl = 24 * time.Second
	e := newPersistentEnv(t, envConfig{dbTTL: "24s"})
	var tpl strings.Builder
	for i := range n {
		role := fmt.Sprintf("m%03d", i)
		e.addRole(role, "24s")
		tpl.WriteString(dbTplFor("database/creds/"+role) + "\n")
	}
	out := e.path("creds.txt")
	r := e.start(e.config(template(tpl.String(), out, "")))
	r.waitRendered(2 * time.Minute)
	begin := time.Now()

	var leases []string
	for i := range n {
		ids := leaseIDs(t, e.root, fmt.Sprintf("database/creds/m%03d/", i))
		if len(ids) != 1 {
			t.Fatalf("role m%03d has %d leases, want 1", i, len(ids))
		}
		leases = append(leases, ids[0])
	}
	issued := map[string]time.Time{}
	var firstIssue, lastIssue time.Time
	for _, id := range leases {
		info, ok := lookupLease(e.root, id)
		if !ok {
			t.Fatalf("lease %d vanished", len(issued))
		}
		issued[id] = info.issued
		if firstIssue.IsZero() || info.issued.Before(firstIssue) {
			firstIssue = info.issued
		}
		if info.issued.After(lastIssue) {
			lastIssue = info.issued
		}
	}
	// Each lease is looked at after its first renewal is due (by 2/3 of
	// its TTL) and before a second one can come (at least 2 x 57% of it):
	// it must have been renewed exactly once, within its window. Under
	// load, issuing takes seconds, so each lease is judged on its own
	// issue time.
	sort.Slice(leases, func(i, j int) bool { return issued[leases[i]].Before(issued[leases[j]]) })
	var renewals []time.Time
	var offsets []time.Duration // renewal - issue: the jitter, free of the issue spread
	var late []string
	for _, id := range leases {
		// A point on the real Vault's clock (85% of the lease), not a
		// wait for something: the lease must have been renewed by then.
		time.Sleep(time.Until(issued[id].Add(ttl * 17 / 20)))
		info, ok := lookupLease(e.root, id)
		switch {
		case !ok:
			late = append(late, "expired")
		case info.renewed.IsZero():
			late = append(late, "never renewed")
		case info.renewed.Sub(issued[id]) < ttl/2 || !info.renewed.Before(issued[id].Add(ttl)):
			late = append(late, fmt.Sprintf("renewed %v after issue", info.renewed.Sub(issued[id]).Round(time.Millisecond)))
		default:
			renewals = append(renewals, info.renewed)
			offsets = append(offsets, info.renewed.Sub(issued[id]))
			if !info.expire.After(issued[id].Add(ttl)) {
				late = append(late, "renewal did not extend the lease")
			}
		}
	}
	checked := time.Now()
	if len(late) > 0 {
		t.Errorf("%d of %d leases not renewed within their window: %v", len(late), n, first(late, 5))
	}
	// Past the end of every first lease, every credential still logs in
	// (a point on the real Vault's clock, on purpose).
	time.Sleep(time.Until(lastIssue.Add(ttl + 2*time.Second)))
	lockedOut := 0
	for _, l := range strings.Split(strings.TrimSpace(string(stat(t, out).data)), "\n") {
		user, pass, _ := strings.Cut(l, ":")
		if err := e.pg.CanLogin(user, pass); err != nil {
			lockedOut++
		}
	}
	if lockedOut > 0 {
		t.Errorf("%d of %d credentials no longer log in", lockedOut, n)
	}
	creds := e.classCount("database/creds", 200, begin, time.Time{})
	if creds != 0 {
		t.Errorf("rotor fetched %d new credentials instead of renewing", creds)
	}
	if len(renewals) < 2 {
		t.Fatalf("%d renewals", len(renewals))
	}
	sort.Slice(renewals, func(i, j int) bool { return renewals[i].Before(renewals[j]) })
	slices.Sort(offsets)
	spread := renewals[len(renewals)-1].Sub(renewals[0])
	jitter := offsets[len(offsets)-1] - offsets[0]
	// rotor's jitter moves a renewal up to 10% of the TTL earlier.
	if jitter < ttl/20 {
		t.Errorf("the renewals' offsets from their issue spread over %v only: no jitter?", jitter)
	}
	if !r.alive() {
		t.Fatal("rotor exited")
	}
	report(t, result{
		scenario: fmt.Sprintf("%d leases (TTL %v) issued within %s, expiring together", n, ttl, secs(lastIssue.Sub(firstIssue))),
		did: fmt.Sprintf("renewed %d of %d within their window, over %s (%s to %s after the first issue); jitter: renewed %s to %s after their own issue",
			len(renewals), n, secs(spread), secs(renewals[0].Sub(firstIssue)), secs(renewals[len(renewals)-1].Sub(firstIssue)),
			secs(offsets[0]), secs(offsets[len(offsets)-1])),
		files:    "kept (no new credentials)",
		lost:     fmt.Sprint(len(late)),
		recovery: "-",
		requests: counts(e.proxy.Counts(begin, checked)) + " (until each lease's first renewal)",
	})
}
