package lease

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestRecoveryOrderAndTimes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	ws := []Waiting{
		{Key: "kv", Class: ClassStatic},
		{Key: "cert-ended", Class: ClassCert, Deadline: at(-40 * time.Second)},
		{Key: "db-ended", Class: ClassLease, Deadline: at(-10 * time.Second)},
		{Key: "db-valid", Class: ClassLease, Deadline: at(5 * time.Minute)},
		{Key: "db-ending", Class: ClassLease, Deadline: at(10 * time.Second)},
		{Key: "cert-valid", Class: ClassCert, Deadline: at(20 * time.Second)},
	}
	urgent := RecoveryOrder(now, ws)
	var keys []string
	for _, w := range ws {
		keys = append(keys, w.Key)
	}
	// Ended or ending first, leases before certificates (even one that
	// ended earlier), then the still-valid ones.
	want := []string{"db-ended", "db-ending", "cert-ended", "db-valid", "cert-valid", "kv"}
	if !slices.Equal(keys, want) || urgent != 3 {
		t.Fatalf("order %v (%d urgent), want %v (3 urgent)", keys, urgent, want)
	}
	cases := []struct {
		i    int
		r    float64
		want time.Duration
	}{
		{0, 0.9, 0},                         // the first urgent one: at once, whatever the draw
		{1, 0.9, urgentWindow / 3},          // then evenly over urgentWindow
		{2, 0, 2 * urgentWindow / 3},        //
		{3, 0.5, recoverySpread / 2},        // still valid for 5 min: a random point of recoverySpread
		{4, 0.99, 9900 * time.Millisecond},  // 20 s left: within half of it
		{5, 0.99, 29700 * time.Millisecond}, // no deadline: recoverySpread
	}
	for _, c := range cases {
		if got := RecoveryAt(now, ws[c.i], c.i, urgent, c.r).Sub(now); got != c.want {
			t.Errorf("%s (r=%v): at +%v, want +%v", ws[c.i].Key, c.r, got, c.want)
		}
	}
}

// The fleet arithmetic behind the constants: agents that notice Vault's
// return at phases spread over probeInterval, each holding an ended
// database lease, an ended certificate and a KV secret (bench/fleet's
// workload), send at most ~2x their steady mean (23.4 req/s for 200) in
// any second, and every database lease is fetched within probeInterval.
func TestRecoverySpreadsAFleet(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const agents = 200
	perSecond := map[int]int{}
	var lastDB time.Duration
	for a := range agents {
		seen := now.Add(probeInterval * time.Duration(a) / agents) // the agent's probe phase
		ws := []Waiting{
			{Key: "kv", Class: ClassStatic},
			{Key: "cert", Class: ClassCert, Deadline: now.Add(-40 * time.Second)},
			{Key: "db", Class: ClassLease, Deadline: now.Add(-10 * time.Second)},
		}
		urgent := RecoveryOrder(seen, ws)
		for i, w := range ws {
			d := RecoveryAt(seen, w, i, urgent, float64(a)/agents).Sub(now)
			perSecond[int(d/time.Second)]++
			if w.Key == "db" {
				lastDB = max(lastDB, d)
			}
		}
	}
	peak := 0
	for _, n := range perSecond {
		peak = max(peak, n)
	}
	if lastDB >= probeInterval || peak > 45 {
		t.Fatalf("last database lease at +%v, largest second %d requests (%v)", lastDB, peak, perSecond)
	}
}

// While Vault is down, the store sends nothing but a health probe every
// probeInterval; when Vault answers again, the ended lease is fetched at
// the next probe, first, the lease still valid is kept, and the KV
// secrets are read again within recoverySpread.
func TestOutageWaitsForTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("short", 30*time.Second, 0, true)
		fv.role("long", 10*time.Minute, 0, true)
		fv.put("secret/a", map[string]any{"v": "1"})
		fv.put("secret/b", map[string]any{"v": "1"})
		r := startStore(t, fv, Options{Rand: func() float64 { return 0.5 },
			Policy: Policy{Threshold: 0.9, StaticInterval: 30 * time.Second}})
		defer r.stop(t)
		start := time.Now()
		r.fetch(t, creds("short"), creds("long"), kv("secret/a"), kv("secret/b"))
		sleep(5 * time.Second)
		fv.fault("", &fault{refuse: true})
		down := time.Now()
		sleep(time.Minute)
		var probes, others int
		for _, q := range fv.requests("") {
			switch {
			case q.at.Before(down):
			case q.path == "sys/health":
				probes++
			default:
				others++
			}
		}
		// Each secret fails once (twice at most, if it had succeeded just
		// before) and then waits; the probe asks every probeInterval, and
		// a few times more in the short lease's last probeInterval
		// (LastChance halves the time left down to minRetry: 4 at most).
		if others > 8 || probes < 8 || probes > 15 {
			t.Fatalf("during a 60 s outage: %d secret requests, %d probes", others, probes)
		}
		// The last-chance probes leave the agent's phase as it was: after
		// the short lease has ended, every probe is a whole number of
		// probeIntervals after the first.
		var first time.Time
		for _, q := range fv.requests("GET sys/health") {
			switch {
			case q.at.Before(down):
			case first.IsZero():
				first = q.at
			case q.at.After(start.Add(30*time.Second)) && q.at.Sub(first)%probeInterval != 0:
				t.Errorf("probe at %v is off the phase of the first (%v)", q.at.Sub(down), first.Sub(down))
			}
		}
		// Its renewal came due during the outage: it waits for the probe
		// without a request of its own, and says when that is.
		if st := r.status(t, creds("short").Key()); !st.NextAt.After(time.Now()) || st.NextAt.After(time.Now().Add(probeInterval)) {
			t.Fatalf("a waiting secret's status: %+v", st)
		}
		fv.fault("", nil)
		back := time.Now()
		sleep(probeInterval)
		var after []request
		for _, q := range fv.requests("") {
			if !q.at.Before(back) && q.path != "sys/health" && q.path != "sys/leases/renew" {
				after = append(after, q)
			}
		}
		if len(after) == 0 || after[0].path != "database/creds/short" {
			t.Fatalf("within %v of Vault's return, first requests %+v: want the ended lease first", probeInterval, after)
		}
		sleep(recoverySpread)
		// The new lease's first renewal is dephased: earlier than the
		// 18.5 s (2/3 of 30 s less jitter) a lease fetched in steady
		// state waits, so a fleet fetching together renews apart.
		fetched := after[0].at
		var renewedAfter time.Duration
		for _, q := range fv.requests("PUT sys/leases/renew") {
			if q.at.After(fetched) && strings.HasPrefix(q.leaseID, "database/creds/short/") {
				renewedAfter = q.at.Sub(fetched)
				break
			}
		}
		if renewedAfter == 0 || renewedAfter >= 15*time.Second {
			t.Fatalf("the lease fetched at Vault's return was first renewed %v later, want a dephased renewal before 15 s", renewedAfter)
		}
		if n := len(fv.requests("GET database/creds/long")); n != 1 {
			t.Fatalf("the lease still valid was fetched %d times, want once (kept)", n)
		}
		for _, ref := range []Ref{creds("short"), creds("long"), kv("secret/a"), kv("secret/b")} {
			if st := r.status(t, ref.Key()); st.LastError != "" {
				t.Errorf("%s still failing %v after Vault's return: %+v", ref, time.Since(back), st)
			}
		}
	})
}

func TestDephaseDrawsFromTheSecondHalf(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	next := now.Add(20 * time.Second)
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 20 * time.Second}, {0.5, 15 * time.Second}, {0.999, 10010 * time.Millisecond}} {
		if got := Dephase(now, next, c.r).Sub(now); got != c.want {
			t.Errorf("r=%v: +%v, want +%v", c.r, got, c.want)
		}
	}
	if past := now.Add(-time.Second); !Dephase(now, past, 0.5).Equal(past) {
		t.Error("an action already due moved")
	}
}

func TestLastChanceProbesBeforeALeaseEnds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	for _, c := range []struct {
		name           string
		deadline, next time.Time
		want           time.Time
	}{
		{"static secret", time.Time{}, at(6 * time.Second), at(6 * time.Second)},
		{"ends after the probe", at(20 * time.Second), at(6 * time.Second), at(6 * time.Second)},
		{"ends before the probe", at(4 * time.Second), at(6 * time.Second), at(2 * time.Second)},
		{"ends soon", at(800 * time.Millisecond), at(6 * time.Second), at(minRetry)},
		{"ends within minRetry", at(300 * time.Millisecond), at(6 * time.Second), at(6 * time.Second)},
		{"ended", at(-time.Second), at(6 * time.Second), at(6 * time.Second)},
	} {
		if got := LastChance(now, c.deadline, c.next); !got.Equal(c.want) {
			t.Errorf("%s: LastChance = %v, want %v", c.name, got.Sub(now), c.want.Sub(now))
		}
	}
}

// A lease whose renewal failed because Vault was down is renewed, not
// replaced, when Vault comes back shortly before the lease ends, even
// between two of the probe's regular asks: the probe comes again before
// the lease ends (LastChance).
func TestALeaseIsRenewedWhenVaultIsBackJustBeforeItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("app", 30*time.Second, 0, true)
		r := startStore(t, fv, Options{Rand: func() float64 { return 0.5 }})
		defer r.stop(t)
		ref := creds("app")
		start := time.Now()
		r.fetch(t, ref)
		fv.fault("", &fault{refuse: true})
		// The renewal (at 2/3 of the lease, less jitter) fails and the
		// secret waits for the probe; Vault is back 2 s before the lease
		// ends, after the probe's last regular ask before the end.
		sleep(28 * time.Second)
		fv.fault("", nil)
		sleep(10 * time.Second)
		var renewed bool
		for _, q := range fv.requests("PUT sys/leases/renew") {
			if q.at.Sub(start) >= 28*time.Second && q.at.Sub(start) < 30*time.Second {
				renewed = true
			}
		}
		if n := len(fv.requests("GET database/creds/app")); n != 1 || !renewed {
			var log []string
			for _, q := range fv.requests("") {
				log = append(log, fmt.Sprintf("%v %s %s", q.at.Sub(start), q.method, q.path))
			}
			t.Fatalf("Vault back 2 s before the lease ends: %d fetches, renewed before the end: %v; want the lease renewed, not replaced\n%s",
				n, renewed, strings.Join(log, "\n"))
		}
	})
}
