package lease

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestNext(t *testing.T) {
	p := Policy{Threshold: 0.9, StaticInterval: 5 * time.Minute}
	h := time.Hour
	cases := []struct {
		name   string
		tm     Timing
		r      float64
		act    Op
		offset time.Duration // from t0
	}{
		{"renewable lease, fresh", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h), Renewable: true}, 0, OpRenew, 40 * time.Minute},
		{"renewable lease, full jitter", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h), Renewable: true}, 1, OpRenew, 34 * time.Minute},
		{"max TTL reached", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(10 * time.Minute), Renewable: true, Capped: true}, 0, OpRefetch, 9 * time.Minute},
		// A lease first issued 50m before its last renewal: the jitter is a
		// tenth of its whole hour, not of the 10m left.
		{"max TTL reached, jitter over the whole life", Timing{Class: ClassLease, Born: t0.Add(-50 * time.Minute), Issued: t0, Expires: t0.Add(10 * time.Minute), Renewable: true, Capped: true}, 1, OpRefetch, 3 * time.Minute},
		{"max TTL reached, jitter never before the last renewal", Timing{Class: ClassLease, Born: t0.Add(-50 * time.Minute), Issued: t0, Expires: t0.Add(2 * time.Minute), Renewable: true, Capped: true}, 1, OpRefetch, 0},
		{"non-renewable lease", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h)}, 0, OpRefetch, 54 * time.Minute},
		{"non-renewable lease, jitter", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h)}, 0.5, OpRefetch, 51 * time.Minute},
		{"already expired", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(-time.Second), Renewable: true}, 0, OpRefetch, -time.Second},
		{"certificate 72h", Timing{Class: ClassCert, Issued: t0.Add(time.Minute), NotBefore: t0, NotAfter: t0.Add(72 * h)}, 0, OpRefetch, time.Duration(0.9 * float64(72*h))},
		{"certificate, jitter", Timing{Class: ClassCert, NotBefore: t0, NotAfter: t0.Add(100 * h)}, 0.5, OpRefetch, 85 * h},
		{"kv", Timing{Class: ClassStatic, Issued: t0}, 0, OpRefetch, 5 * time.Minute},
		{"kv, jitter", Timing{Class: ClassStatic, Issued: t0}, 0.5, OpRefetch, 285 * time.Second},
		{"static role rotating soon", Timing{Class: ClassRotating, Issued: t0, RotatesAt: t0.Add(time.Minute)}, 0, OpRefetch, time.Minute + time.Second},
		{"static role rotating later than the interval", Timing{Class: ClassRotating, Issued: t0, RotatesAt: t0.Add(h)}, 0, OpRefetch, 5 * time.Minute},
		{"lifetime shorter than the interval", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(2 * time.Second)}, 0, OpRefetch, 1800 * time.Millisecond},
		// The owner token was replaced: the lease dies with it.
		{"owner dies first: re-fetch at 2/3 of the time left to its death", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h), Renewable: true, OwnerDeath: t0.Add(30 * time.Second)}, 0, OpRefetch, 20 * time.Second},
		{"owner dies first, jitter", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h), Renewable: true, OwnerDeath: t0.Add(30 * time.Second)}, 1, OpRefetch, 17 * time.Second},
		{"owner dies after the lease would renew: re-fetch, not renew", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h), Renewable: true, OwnerDeath: t0.Add(2 * h)}, 0, OpRefetch, 40 * time.Minute},
		{"owner dies after a non-renewable lease ends", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(10 * time.Minute), OwnerDeath: t0.Add(h)}, 0, OpRefetch, 9 * time.Minute},
		{"owner already dead", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(h), Renewable: true, OwnerDeath: t0.Add(-time.Second)}, 0, OpRefetch, -time.Second},
		{"certificate with a lease, owner dies first", Timing{Class: ClassCert, Issued: t0, NotBefore: t0, NotAfter: t0.Add(72 * h), OwnerDeath: t0.Add(h)}, 0, OpRefetch, 40 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act, when := Next(c.tm, p, c.r)
			if act != c.act {
				t.Fatalf("action %v, want %v", act, c.act)
			}
			if got := when.Sub(t0); got != c.offset {
				t.Fatalf("at +%v, want +%v", got, c.offset)
			}
			if d := Deadline(c.tm); !d.IsZero() && when.After(d) {
				t.Fatalf("acts at %v, after the deadline %v", when, d)
			}
		})
	}
}

// consul-template computes PKI jitter with integer division and gets zero;
// certificates issued together must rotate at different times here.
func TestCertificatesIssuedTogetherSpread(t *testing.T) {
	p := Policy{Threshold: 0.9}
	tm := Timing{Class: ClassCert, NotBefore: t0, NotAfter: t0.Add(72 * time.Hour)}
	seen := map[time.Time]bool{}
	for i := range 20 {
		_, at := Next(tm, p, float64(i)/20)
		seen[at.Truncate(time.Second)] = true
	}
	if len(seen) != 20 {
		t.Fatalf("20 draws gave %d distinct seconds", len(seen))
	}
	_, first := Next(tm, p, 0)
	_, last := Next(tm, p, 0.999)
	if spread := first.Sub(last); spread < 7*time.Hour {
		t.Fatalf("spread %v, want about 10%% of 72h", spread)
	}
}

func TestTokenBoundAt(t *testing.T) {
	death := t0.Add(10 * time.Minute)
	first, last := TokenBoundAt(t0, death, 0, 10), TokenBoundAt(t0, death, 9, 10)
	if !first.Equal(t0) || !last.After(first) || !last.Before(t0.Add(30*time.Second)) {
		t.Fatalf("spread %v..%v", first, last)
	}
	if got := TokenBoundAt(t0, time.Time{}, 5, 10); got.After(t0.Add(time.Second)) {
		t.Fatalf("a dead token's secrets must be fetched at once, got +%v", got.Sub(t0))
	}
	if got := TokenBoundAt(t0, t0.Add(4*time.Second), 9, 10); !got.Before(t0.Add(2 * time.Second)) {
		t.Fatalf("must stay within half the time left, got +%v", got.Sub(t0))
	}
}

func TestDeadline(t *testing.T) {
	h := time.Hour
	cases := []struct {
		name string
		tm   Timing
		want time.Time
	}{
		{"kv has none", Timing{Class: ClassStatic, Issued: t0}, time.Time{}},
		{"lease", Timing{Class: ClassLease, Expires: t0.Add(h)}, t0.Add(h)},
		{"lease ends before its owner", Timing{Class: ClassLease, Expires: t0.Add(h), OwnerDeath: t0.Add(2 * h)}, t0.Add(h)},
		{"owner dies before the lease", Timing{Class: ClassLease, Expires: t0.Add(h), OwnerDeath: t0.Add(time.Minute)}, t0.Add(time.Minute)},
		{"certificate", Timing{Class: ClassCert, NotAfter: t0.Add(h)}, t0.Add(h)},
		{"certificate whose lease dies with its owner", Timing{Class: ClassCert, NotAfter: t0.Add(h), OwnerDeath: t0.Add(time.Minute)}, t0.Add(time.Minute)},
	}
	for _, c := range cases {
		if got := Deadline(c.tm); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRequestTimeout(t *testing.T) {
	cases := []struct {
		name string
		act  Op
		left time.Duration // to the deadline; 0: none
		want time.Duration
	}{
		{"renewal: half the time left", OpRenew, 20 * time.Second, 10 * time.Second},
		{"renewal: capped", OpRenew, 20 * time.Minute, time.Minute},
		{"renewal: at least a second", OpRenew, 1500 * time.Millisecond, time.Second},
		{"renewal: never past the lease's end", OpRenew, 600 * time.Millisecond, 600 * time.Millisecond},
		{"renewal of an ended lease: none", OpRenew, -time.Second, 0},
		{"8s lease renewed at 2/3", OpRenew, 7*time.Second - 7*time.Second*2/3, 1166666667},
		{"fetch: the time left", OpRefetch, 30 * time.Second, 30 * time.Second},
		{"fetch: at least 10s", OpRefetch, 2 * time.Second, 10 * time.Second},
		{"fetch after the end: 10s", OpRefetch, -time.Hour, 10 * time.Second},
		{"fetch: capped", OpRefetch, time.Hour, time.Minute},
		{"no deadline", OpRefetch, 0, time.Minute},
	}
	for _, c := range cases {
		var deadline time.Time
		if c.left != 0 {
			deadline = t0.Add(c.left)
		}
		if got := RequestTimeout(c.act, t0, deadline); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRetryIn(t *testing.T) {
	cases := []struct {
		name        string
		d, ra, left time.Duration
		want        time.Duration
	}{
		{"backoff", 4 * time.Second, 0, time.Hour, 4 * time.Second},
		{"no deadline", time.Minute, 0, 0, time.Minute},
		{"at most half the time left", time.Minute, 0, 30 * time.Second, 15 * time.Second},
		{"not under 500ms", time.Minute, 0, 600 * time.Millisecond, 500 * time.Millisecond},
		{"Retry-After wins", time.Second, 7 * time.Second, time.Hour, 7 * time.Second},
		{"Retry-After wins over the deadline too", time.Minute, 20 * time.Second, 30 * time.Second, 20 * time.Second},
		{"ended: the backoff", 8 * time.Second, 0, -time.Second, 8 * time.Second},
	}
	for _, c := range cases {
		var deadline time.Time
		if c.left != 0 {
			deadline = t0.Add(c.left)
		}
		if got := RetryIn(c.d, c.ra, t0, deadline); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestFirstReread(t *testing.T) {
	p := Policy{Threshold: 0.9, StaticInterval: 30 * time.Second}
	kvAt := Timing{Class: ClassStatic, Issued: t0}
	cases := []struct {
		name string
		tm   Timing
		p    Policy
		r    float64
		want time.Duration // from t0; -1 for none
	}{
		{"kv, no jitter: a whole interval", kvAt, p, 0, 30 * time.Second},
		{"kv, half", kvAt, p, 0.5, 16500 * time.Millisecond},
		{"kv, full: a tenth of the interval", kvAt, p, 1, 3 * time.Second},
		{"lease: Next alone", Timing{Class: ClassLease, Issued: t0, Expires: t0.Add(time.Hour)}, p, 0.5, -1},
		{"static role: its rotation decides", Timing{Class: ClassRotating, Issued: t0}, p, 0.5, -1},
		{"no interval", kvAt, Policy{Threshold: 0.9}, 0.5, -1},
	}
	for _, c := range cases {
		got := FirstReread(c.tm, c.p, c.r)
		if c.want < 0 {
			if !got.IsZero() {
				t.Errorf("%s: %v, want none", c.name, got.Sub(t0))
			}
			continue
		}
		if got.Sub(t0) != c.want {
			t.Errorf("%s: +%v, want +%v", c.name, got.Sub(t0), c.want)
		}
	}
}
