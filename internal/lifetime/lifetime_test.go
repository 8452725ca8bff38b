package lifetime

import (
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const h = time.Hour

// life is a grant issued at t0 that ends after d (never when d is zero).
func life(renewable, capped bool, d time.Duration) Life {
	l := Life{Issued: t0, Renewable: renewable, Capped: capped}
	if d != 0 {
		l.Expires = t0.Add(d)
	}
	return l
}

func TestNext(t *testing.T) {
	batch := life(true, false, h)
	batch.Kind = Batch
	periodic := life(true, false, h)
	periodic.Kind, periodic.Period = Periodic, h
	cases := []struct {
		name      string
		l         Life
		replaceAt float64
		r         float64
		want      Decision
		offset    time.Duration // from t0
	}{
		{"fresh renewable: renew at 2/3", life(true, false, h), ReloginAt, 0, Renew, 40 * time.Minute},
		{"fresh renewable, half jitter", life(true, false, h), ReloginAt, 0.5, Renew, 37 * time.Minute},
		{"fresh renewable, full jitter: a tenth earlier", life(true, false, h), ReloginAt, 1, Renew, 34 * time.Minute},
		{"not renewable, token: log in again at 0.8", life(false, false, h), ReloginAt, 0, Replace, 48 * time.Minute},
		{"not renewable, lease: fetch again at the threshold", life(false, false, h), 0.9, 0, Replace, 54 * time.Minute},
		{"not renewable, jitter", life(false, false, h), 0.9, 0.5, Replace, 51 * time.Minute},
		{"batch token says renewable: replaced all the same", batch, ReloginAt, 0, Replace, 48 * time.Minute},
		{"periodic token: renewed like any other", periodic, ReloginAt, 0, Renew, 40 * time.Minute},
		{"max TTL reached (capped): replaced", life(true, true, 10*time.Minute), ReloginAt, 0, Replace, 8 * time.Minute},
		{"capped lease, threshold", life(true, true, 10*time.Minute), 0.9, 0, Replace, 9 * time.Minute},
		// A lease first issued 50m before its last renewal: the jitter is a
		// tenth of its whole hour, not of the 10m left.
		{"capped, jitter over the whole life since Born", withBorn(life(true, true, 10*time.Minute), -50*time.Minute), 0.9, 1, Replace, 3 * time.Minute},
		{"capped, jitter never before the last renewal", withBorn(life(true, true, 2*time.Minute), -50*time.Minute), 0.9, 1, Replace, 0},
		{"Born after Issued is ignored", withBorn(life(false, false, h), time.Minute), 0.9, 1, Replace, 48 * time.Minute},
		{"never expires", life(true, false, 0), ReloginAt, 0.3, NoAction, -1},
		{"already expired: replace at its end, in the past", Life{Issued: t0, Expires: t0.Add(-time.Second), Renewable: true}, ReloginAt, 0, Replace, -time.Second},
		{"ends the instant it is issued", Life{Issued: t0, Expires: t0, Renewable: true}, ReloginAt, 0.7, Replace, 0},
		{"lifetime shorter than a second", life(true, false, 900*time.Millisecond), ReloginAt, 0, Renew, 600 * time.Millisecond},
		{"lifetime shorter than the check interval, not renewable", life(false, false, 2*time.Second), 0.9, 0, Replace, 1800 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, at := Next(c.l, c.replaceAt, c.r)
			if got != c.want {
				t.Fatalf("decision %v, want %v", got, c.want)
			}
			if c.offset < 0 && c.want == NoAction {
				if !at.IsZero() {
					t.Fatalf("at %v, want none", at)
				}
				return
			}
			// Float fractions of a life may land a nanosecond off.
			if d := at.Sub(t0); d.Round(time.Microsecond) != c.offset {
				t.Fatalf("at +%v, want +%v", d, c.offset)
			}
			if !c.l.Expires.IsZero() && at.After(c.l.Expires) {
				t.Fatalf("acts at %v, after the end %v", at, c.l.Expires)
			}
		})
	}
}

func withBorn(l Life, d time.Duration) Life {
	l.Born = t0.Add(d)
	return l
}

// A grant issued long ago and nearly over: the decision is already due
// (in the past), so the caller acts at once, and never after the end.
func TestNextNearlyExpired(t *testing.T) {
	now := t0.Add(59 * time.Minute)
	for _, l := range []Life{life(true, false, h), life(false, false, h), life(true, true, h)} {
		for _, r := range []float64{0, 0.5, 0.999} {
			d, at := Next(l, 0.9, r)
			if at.After(now) || at.After(l.Expires) {
				t.Errorf("%+v r=%v: %v at +%v, want due by +59m", l, r, d, at.Sub(t0))
			}
		}
	}
}

// consul-template's PKI jitter is silently zero (integer division): here
// draws across [0,1) must give distinct times, spread over about a tenth
// of the life, and never later than the unjittered time.
func TestJitterIsRealAndBounded(t *testing.T) {
	for _, c := range []struct {
		name      string
		l         Life
		replaceAt float64
		base      time.Duration
	}{
		{"renew", life(true, false, 72*h), ReloginAt, 48 * h},
		{"relogin", life(false, false, 72*h), ReloginAt, time.Duration(0.8 * float64(72*h))},
		{"refetch", life(false, false, 72*h), 0.9, time.Duration(0.9 * float64(72*h))},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen := map[time.Time]bool{}
			var earliest time.Duration = c.base
			for i := range 20 {
				_, at := Next(c.l, c.replaceAt, float64(i)/20)
				seen[at.Truncate(time.Second)] = true
				off := at.Sub(t0)
				if off > c.base || off < c.base-time.Duration(Jitter*float64(72*h)) {
					t.Fatalf("draw %d: +%v outside [base - 10%%, base] = [+%v, +%v]", i, off, c.base-time.Duration(Jitter*float64(72*h)), c.base)
				}
				earliest = min(earliest, off)
			}
			if len(seen) != 20 {
				t.Fatalf("20 draws gave %d distinct seconds", len(seen))
			}
			if spread := c.base - earliest; spread < 6*h {
				t.Fatalf("spread %v, want about 10%% of 72h", spread)
			}
		})
	}
}

// With an injected random source, the schedule is a function of it: the
// same seed gives the same times, another seed other times.
func TestDeterministicWithInjectedRand(t *testing.T) {
	plan := func(seed uint64) []time.Time {
		rnd := rand.New(rand.NewPCG(seed, 0))
		var out []time.Time
		for range 5 {
			_, at := Next(life(true, false, h), ReloginAt, rnd.Float64())
			out = append(out, at)
		}
		return out
	}
	a, b, c := plan(1), plan(1), plan(2)
	for i := range a {
		if !a[i].Equal(b[i]) {
			t.Fatalf("draw %d: %v then %v with the same seed", i, a[i], b[i])
		}
	}
	same := 0
	for i := range a {
		if a[i].Equal(c[i]) {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("another seed gave the same schedule")
	}
}

func TestExpiry(t *testing.T) {
	for _, c := range []struct{ ttl, want time.Duration }{
		{h, h - time.Second},
		{2 * time.Second, time.Second},
		{time.Second, 500 * time.Millisecond}, // never more than half
		{0, 0},
	} {
		if got := Expiry(t0, c.ttl).Sub(t0); got != c.want {
			t.Errorf("Expiry(%v) = +%v, want +%v", c.ttl, got, c.want)
		}
	}
}

func TestRenewed(t *testing.T) {
	now := t0.Add(40 * time.Minute)
	cases := []struct {
		name           string
		l              Life
		asked, granted time.Duration
		renewable      bool
		capped, renews bool
	}{
		{"full grant", life(true, false, h), h, h, true, false, true},
		{"Vault rounds: a second short is not capped", life(true, false, h), h, h - time.Second, true, false, true},
		{"max TTL reached: a shorter grant", life(true, false, h), h, 20 * time.Minute, true, true, false},
		{"no longer renewable", life(true, false, h), h, h, false, false, false},
		{"periodic: the period, whatever was asked", Life{Kind: Periodic, Period: 10 * time.Minute, Issued: t0, Expires: t0.Add(h), Renewable: true}, h, 10 * time.Minute, true, false, true},
		{"periodic under an explicit max TTL", Life{Kind: Periodic, Period: 10 * time.Minute, Issued: t0, Expires: t0.Add(h), Renewable: true}, h, 3 * time.Minute, true, true, false},
		{"batch: never renews", Life{Kind: Batch, Issued: t0, Expires: t0.Add(h), Renewable: true}, h, h, true, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := c.l.Renewed(now, c.asked, c.granted, c.renewable)
			if n.Capped != c.capped || n.Renews() != c.renews {
				t.Fatalf("capped=%v renews=%v, want %v %v", n.Capped, n.Renews(), c.capped, c.renews)
			}
			if !n.Issued.Equal(now) || !n.Expires.Equal(Expiry(now, c.granted)) || n.Renewable != c.renewable {
				t.Fatalf("issued %v expires %v renewable %v", n.Issued, n.Expires, n.Renewable)
			}
			if n.Kind != c.l.Kind || !n.Born.Equal(c.l.Born) {
				t.Fatal("a renewal must keep the kind and the birth")
			}
			want := Renew
			if !c.renews {
				want = Replace
			}
			if d, _ := Next(n, ReloginAt, 0); d != want {
				t.Fatalf("next %v, want %v", d, want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		token  string
		period time.Duration
		want   Kind
	}{
		{"hvs.CAESIJ", 0, Service},
		{"s.abc", 0, Service},
		{"hvb.AAAAAQ", 0, Batch},
		{"b.AAAAAQ", 0, Batch},
		{"hvs.CAESIJ", time.Hour, Periodic},
		{"hvb.AAAAAQ", time.Hour, Batch}, // batch tokens cannot be periodic
		{"", 0, Service},
	} {
		if got := KindOf(c.token, c.period); got != c.want {
			t.Errorf("KindOf(%q, %v) = %v, want %v", c.token, c.period, got, c.want)
		}
	}
}

func TestAt(t *testing.T) {
	if got := At(t0, 100*h, 0.9, 0.5).Sub(t0); got != 85*h {
		t.Errorf("At 0.9 - 0.05 of 100h = +%v, want +85h", got)
	}
	if got := At(t0, h, 0.05, 1); !got.Equal(t0) {
		t.Errorf("jitter past the start: +%v, want +0", got.Sub(t0))
	}
}
