package auth

import (
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/lifetime"
)

// The lifecycle's numbers, pinned: renew at 2/3, log in again at 0.8 once
// renewal cannot extend the token. The rules are lifetime's (its tests
// cover them); these check that auth feeds it the token as it should.
func TestTokenNext(t *testing.T) {
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
		act    lifetime.Decision
		offset time.Duration
	}{
		{"fresh renewable, no jitter", tok(true, false, hour), 0, lifetime.Renew, 40 * time.Minute},
		{"fresh renewable, max jitter", tok(true, false, hour), 0.999999, lifetime.Renew, 34 * time.Minute},
		{"half jitter", tok(true, false, hour), 0.5, lifetime.Renew, 37 * time.Minute},
		{"not renewable", tok(false, false, hour), 0, lifetime.Replace, 48 * time.Minute},
		{"max TTL reached", tok(true, true, 10*time.Minute), 0, lifetime.Replace, 8 * time.Minute},
		{"never expires", tok(true, false, 0), 0.3, lifetime.NoAction, 0},
		{"already expired", &Token{Renewable: true, Issued: t0, Expires: t0.Add(-time.Second)}, 0, lifetime.Replace, -time.Second},
		{"lifetime shorter than a second", tok(true, false, 900*time.Millisecond), 0, lifetime.Renew, 600 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			act, at := c.tok.next(c.r)
			if act != c.act {
				t.Fatalf("action %v, want %v", act, c.act)
			}
			if act == lifetime.NoAction {
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
		_, at := tok.next(float64(i) / 10)
		seen[at.Truncate(time.Second)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("10 draws gave only %d distinct seconds", len(seen))
	}
}

func TestRenewedDetectsMaxTTL(t *testing.T) {
	t0 := time.Now()
	tok := &Token{Renewable: true, CreationTTL: time.Hour, Issued: t0, Expires: t0.Add(time.Hour)}
	if n := tok.renewed(time.Hour, true, t0.Add(40*time.Minute)); n.Capped {
		t.Fatal("full grant must not be capped")
	}
	n := tok.renewed(20*time.Minute, true, t0.Add(40*time.Minute))
	if !n.Capped || !n.Expires.Equal(t0.Add(time.Hour-time.Second)) {
		t.Fatalf("short grant: capped=%v expires=%v", n.Capped, n.Expires)
	}
	if act, _ := n.next(0); act != lifetime.Replace {
		t.Fatalf("capped token must be replaced by a login, got %v", act)
	}
}

// A batch token is replaced by a login, never renewed, whatever Vault
// said of renewable; its kind shows in its prefix.
func TestBatchTokenIsNeverRenewed(t *testing.T) {
	t0 := time.Now()
	tok := NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "hvb.AAAAAQ", LeaseDuration: 3600, Renewable: true}}, t0)
	if tok.Kind != lifetime.Batch {
		t.Fatalf("kind %v, want batch", tok.Kind)
	}
	if act, at := tok.next(0); act != lifetime.Replace || at.Sub(t0).Round(time.Millisecond) != 2879200*time.Millisecond {
		t.Fatalf("%v at +%v, want a login at 0.8 of 3599s", act, at.Sub(t0))
	}
}

// A periodic token (its period learnt from a lookup) renewed with an ask
// above its period is granted the period: not capped, renewed again.
func TestPeriodicTokenIsNotCappedByItsPeriod(t *testing.T) {
	t0 := time.Now()
	tok := &Token{value: "hvs.x", Kind: lifetime.Periodic, Period: 10 * time.Minute, Renewable: true,
		CreationTTL: time.Hour, Issued: t0, Expires: t0.Add(10 * time.Minute)}
	n := tok.renewed(10*time.Minute, true, t0.Add(7*time.Minute))
	if n.Capped {
		t.Fatal("a grant of the full period must not count as capped")
	}
	if act, _ := n.next(0); act != lifetime.Renew {
		t.Fatalf("next %v, want renew", act)
	}
	if n := tok.renewed(4*time.Minute, true, t0.Add(7*time.Minute)); !n.Capped {
		t.Fatal("a grant short of the period (explicit max TTL) must count as capped")
	}
}
