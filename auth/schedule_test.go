package auth

import (
	"testing"
	"time"
)

func TestNextAction(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hour := time.Hour
	tok := func(renewable, capped bool, life time.Duration) *Token {
		x := &Token{Renewable: renewable, Capped: capped, Issued: t0, CreationTTL: hour}
		if life != 0 {
			x.Expires = t0.Add(life)
		}
		return x
	}
	cases := []struct {
		name   string
		tok    *Token
		r      float64
		act    Action
		offset time.Duration
	}{
		{"fresh renewable, no jitter", tok(true, false, hour), 0, ActionRenew, 40 * time.Minute},
		{"fresh renewable, max jitter", tok(true, false, hour), 0.999999, ActionRenew, 34 * time.Minute},
		{"half jitter", tok(true, false, hour), 0.5, ActionRenew, 37 * time.Minute},
		{"not renewable", tok(false, false, hour), 0, ActionRelogin, 48 * time.Minute},
		{"max TTL reached", tok(true, true, 10*time.Minute), 0, ActionRelogin, 8 * time.Minute},
		{"never expires", tok(true, false, 0), 0.3, ActionNone, 0},
		{"already expired", &Token{Renewable: true, Issued: t0, Expires: t0.Add(-time.Second)}, 0, ActionRelogin, -time.Second},
		{"lifetime shorter than a second", tok(true, false, 900*time.Millisecond), 0, ActionRenew, 600 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act, at := NextAction(c.tok, c.r)
			if act != c.act {
				t.Fatalf("action %v, want %v", act, c.act)
			}
			if act == ActionNone {
				return
			}
			if got := at.Sub(t0); got.Round(time.Second) != c.offset.Round(time.Second) && got.Round(time.Millisecond) != c.offset {
				t.Fatalf("at +%v, want +%v", got, c.offset)
			}
			if !c.tok.Expires.IsZero() && at.After(c.tok.Expires) {
				t.Fatalf("acts at %v, after expiry %v", at, c.tok.Expires)
			}
		})
	}
}

func TestJitterSpreadsTokensIssuedTogether(t *testing.T) {
	t0 := time.Now()
	tok := &Token{Renewable: true, Issued: t0, Expires: t0.Add(time.Hour), CreationTTL: time.Hour}
	seen := map[time.Time]bool{}
	for i := range 10 {
		_, at := NextAction(tok, float64(i)/10)
		seen[at.Truncate(time.Second)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("10 draws gave only %d distinct seconds", len(seen))
	}
}

func TestRenewedDetectsMaxTTL(t *testing.T) {
	t0 := time.Now()
	tok := &Token{Renewable: true, CreationTTL: time.Hour, Issued: t0, Expires: t0.Add(time.Hour)}
	if n := tok.renewed(time.Hour, t0.Add(40*time.Minute)); n.Capped {
		t.Fatal("full grant must not be capped")
	}
	n := tok.renewed(20*time.Minute, t0.Add(40*time.Minute))
	if !n.Capped || !n.Expires.Equal(t0.Add(time.Hour-time.Second)) {
		t.Fatalf("short grant: capped=%v expires=%v", n.Capped, n.Expires)
	}
	if act, _ := NextAction(n, 0); act != ActionRelogin {
		t.Fatalf("capped token must be replaced by a login, got %v", act)
	}
}
