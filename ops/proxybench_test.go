package ops

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/rotorproject/rotor/proxy"
)

type noRenew struct{}

func (noRenew) Track(proxy.Tracked) {}
func (noRenew) Untrack(string)      {}

// BenchmarkCachedRead is a cached read through a proxying listener, over
// loopback HTTP: what an application pays per request once its lease is
// cached (bench/run.sh proxy measures the same against Vault Agent).
func BenchmarkCachedRead(b *testing.B) {
	vault := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"request_id":"r","lease_id":"database/creds/app/abc","renewable":true,"lease_duration":3600,"data":{"username":"v-app-xyz","password":"A1a-0123456789abcdef"}}`)
	}))
	defer vault.Close()
	u, _ := url.Parse(vault.URL)
	cache := proxy.NewCache(noRenew{}, discard())
	cache.Manage("tok")
	p := proxy.New(proxy.Options{Vault: u, Token: func() string { return "tok" }, Mode: proxy.TokenIfMissing, Cache: cache})
	src := &fakeSource{}
	s, err := NewServer(ListenerOptions{Type: "tcp", Address: "127.0.0.1:0"}, src, NewMetrics(src.Status), discard(), APIOptions{Proxy: p})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	target := "http://" + s.Addr() + "/v1/database/creds/app"
	get := func(c *http.Client) {
		resp, err := c.Get(target)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(http.DefaultClient) // the miss
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		for pb.Next() {
			get(c)
		}
	})
}
