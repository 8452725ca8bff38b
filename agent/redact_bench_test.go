package agent

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/proxy"
)

// redactAgent is an agent with only what secrets() reads: a store, a
// lifecycle without a token, and a proxy cache renewed by the store.
func redactAgent() *Agent {
	a := &Agent{store: lease.NewStore(lease.Options{}), life: auth.NewLifecycle(auth.Options{})}
	a.cache = proxy.NewCache(a.cacheRenewer(), nil)
	return a
}

// cachedLease is the i'th proxy cache entry: a database credential, as a
// proxied `vault read database/creds/app` leaves it.
func cachedLease(i int) proxy.Entry {
	body, _ := json.Marshal(map[string]any{
		"lease_id": fmt.Sprintf("database/creds/app/lease-%08d", i), "renewable": true, "lease_duration": 3600,
		"data": map[string]any{"username": fmt.Sprintf("v-app-%08d", i), "password": fmt.Sprintf("pw-%08d-0123456789abcdef", i)},
	})
	return proxy.Entry{ID: fmt.Sprintf("entry-%08d", i), Kind: proxy.KindLease, Method: "GET", Path: "/v1/database/creds/app",
		RequestToken: "hvs.request-token-0123456789", LeaseID: fmt.Sprintf("database/creds/app/lease-%08d", i),
		Status: 200, Body: body, Created: time.Now(), TTL: time.Hour}
}

// BenchmarkSecretsAfterCacheAdd is the cost of one proxy cache entry
// added and the redaction set asked for (a render failing) after it, with
// the cache already holding N entries. It must not grow with N: thousands
// of proxied leases each followed by a failure was quadratic when every
// addition rebuilt the set from the whole cache.
func BenchmarkSecretsAfterCacheAdd(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			a := redactAgent()
			pre := make([]proxy.Entry, n)
			for i := range pre {
				pre[i] = cachedLease(i)
			}
			a.cache.Restore(pre)
			a.secrets()
			next := n
			b.ReportAllocs()
			for b.Loop() {
				e := cachedLease(next)
				next++
				a.cache.Restore([]proxy.Entry{e})
				if a.secrets().Empty() {
					b.Fatal("empty redaction set")
				}
			}
		})
	}
}
