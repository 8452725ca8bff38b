package lease

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestPolicyOrAndMerge(t *testing.T) {
	global := Policy{Threshold: 0.9, StaticInterval: 5 * time.Minute}
	cases := []struct {
		name string
		got  Policy
		want Policy
	}{
		{"nothing of its own", Policy{}.Or(global), global},
		{"own threshold", Policy{Threshold: 0.5}.Or(global), Policy{Threshold: 0.5, StaticInterval: 5 * time.Minute}},
		{"own interval", Policy{StaticInterval: time.Minute}.Or(global), Policy{Threshold: 0.9, StaticInterval: time.Minute}},
		{"merge takes the earlier of each", Policy{Threshold: 0.5, StaticInterval: time.Hour}.Merge(Policy{Threshold: 0.7, StaticInterval: time.Minute}),
			Policy{Threshold: 0.5, StaticInterval: time.Minute}},
		{"merge with zero keeps the value", Policy{Threshold: 0.7}.Merge(Policy{StaticInterval: time.Minute}),
			Policy{Threshold: 0.7, StaticInterval: time.Minute}},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, c.got, c.want)
		}
	}
}

// fetchesOf counts the GETs of a path the fake Vault answered.
func fetchesOf(fv *memVault, path string) int { return len(fv.requests("GET " + path)) }

// A template's own lease_renewal_threshold moves the re-fetch of its
// non-renewable lease; a secret no template spoke for keeps the global
// threshold; a later (laxer) preference does not delay a secret another
// template wants sooner.
func TestPreferMovesTheRefetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.role("eager", 100*time.Second, 0, false)
		fv.role("lax", 100*time.Second, 0, false)
		fv.role("plain", 100*time.Second, 0, false)
		fv.role("shared", 100*time.Second, 0, false)
		r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: time.Hour}})
		defer r.stop(t)
		r.fetch(t, creds("eager"), creds("lax"), creds("plain"), creds("shared"))
		r.Prefer([]string{creds("eager").Key()}, Policy{Threshold: 0.5, StaticInterval: time.Hour})
		r.Prefer([]string{creds("lax").Key()}, Policy{Threshold: 0.95, StaticInterval: time.Hour})
		r.Prefer([]string{creds("shared").Key()}, Policy{Threshold: 0.5, StaticInterval: time.Hour})
		r.Prefer([]string{creds("shared").Key()}, Policy{Threshold: 0.9, StaticInterval: time.Hour})

		sleep(45 * time.Second)
		for _, role := range []string{"eager", "lax", "plain", "shared"} {
			if n := fetchesOf(fv, "database/creds/"+role); n != 1 {
				t.Fatalf("at 45s %s was fetched %d times, want once", role, n)
			}
		}
		sleep(10 * time.Second) // 55s: past half of the life
		for role, want := range map[string]int{"eager": 2, "shared": 2, "plain": 1, "lax": 1} {
			if n := fetchesOf(fv, "database/creds/"+role); n != want {
				t.Errorf("at 55s %s was fetched %d times, want %d", role, n, want)
			}
		}
		sleep(37 * time.Second) // 92s: past the global 0.9, before 0.95
		if n := fetchesOf(fv, "database/creds/plain"); n != 2 {
			t.Errorf("at 92s plain was fetched %d times, want 2 (global threshold 0.9)", n)
		}
		if n := fetchesOf(fv, "database/creds/lax"); n != 1 {
			t.Errorf("at 92s lax was fetched %d times, want 1 (its own threshold 0.95)", n)
		}
		sleep(5 * time.Second) // 97s
		if n := fetchesOf(fv, "database/creds/lax"); n != 2 {
			t.Errorf("at 97s lax was fetched %d times, want 2", n)
		}
	})
}

// A template's own static_secret_render_interval re-reads its KV secret
// on that interval; SetPolicy (a reload) forgets the preference until a
// template states it again.
func TestPreferStaticInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fv := newMemVault()
		fv.put("secret/fast", map[string]any{"v": "1"})
		fv.put("secret/slow", map[string]any{"v": "1"})
		r := startStore(t, fv, Options{Policy: Policy{Threshold: 0.9, StaticInterval: time.Hour}})
		defer r.stop(t)
		r.fetch(t, kv("secret/fast"), kv("secret/slow"))
		r.Prefer([]string{kv("secret/fast").Key()}, Policy{Threshold: 0.9, StaticInterval: 10 * time.Second})
		sleep(35 * time.Second)
		if n := fetchesOf(fv, "secret/fast"); n < 3 || n > 5 {
			t.Errorf("secret/fast read %d times in 35s, want about 4 (every 10s)", n)
		}
		if n := fetchesOf(fv, "secret/slow"); n != 1 {
			t.Errorf("secret/slow read %d times in 35s, want once (global interval 1h)", n)
		}
		r.SetPolicy(Policy{Threshold: 0.9, StaticInterval: time.Hour})
		before := fetchesOf(fv, "secret/fast")
		sleep(time.Minute)
		if n := fetchesOf(fv, "secret/fast") - before; n > 1 {
			t.Errorf("after SetPolicy secret/fast was read %d more times in a minute: the preference was kept", n)
		}
	})
}
