package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/proxy"
)

// TestSecretsGrowsWithWhatArrives: the redaction set secrets() keeps hides
// what arrived after it was built (a proxy cache entry, a store value),
// and after it was rebuilt in full to stay small it still hides what rotor
// holds.
func TestSecretsGrowsWithWhatArrives(t *testing.T) {
	a := redactAgent()
	first := a.secrets()
	hidden := func(what, secret string) {
		t.Helper()
		if got := a.secrets().Redact("error: " + secret + " end"); strings.Contains(got, secret) || !strings.Contains(got, redact.Mask) {
			t.Errorf("%s: %q", what, got)
		}
	}

	a.cache.Restore([]proxy.Entry{cachedLease(1)})
	hidden("cache entry added after the set was built", "pw-00000001-0123456789abcdef")
	hidden("the token a cached answer was asked with", "hvs.request-token-0123456789")
	if a.secrets() != first {
		t.Error("the set was rebuilt for one new entry")
	}

	ref := lease.Ref{Kind: lease.KindRead, Path: "secret/app"}
	a.store.Seed(ref, &lease.Secret{Data: map[string]any{"key": "store-secret-value-42"}}, lease.Timing{Issued: time.Now(), Expires: time.Now().Add(time.Hour)})
	hidden("store value added after the set was built", "store-secret-value-42")

	// Enough entries to pass twice the first build: the set is built
	// again from what the cache and the store hold.
	var many []proxy.Entry
	for i := 2; i < 2+compactSlack; i++ {
		many = append(many, cachedLease(i))
	}
	a.cache.Restore(many)
	a.secrets()
	if a.secrets() == first {
		t.Fatal("the set was never rebuilt in full")
	}
	hidden("cache entry after a full rebuild", "pw-00000001-0123456789abcdef")
	hidden("last cache entry after a full rebuild", "pw-00004097-0123456789abcdef")
	hidden("store value after a full rebuild", "store-secret-value-42")
}
