package agent

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/proxy"
)

// proxySettings say how listeners proxy Vault's API: with which token
// mode, and whether answers are cached. As in Vault Agent, every listener
// that is not metrics_only proxies /v1/; api_proxy (or the older cache
// block) decides whether rotor's token is added.
type proxySettings struct {
	mode  proxy.TokenMode
	cache bool
}

func translateProxy(cfg *config.Config) proxySettings {
	var ps proxySettings
	use, force := false, false
	switch {
	case cfg.APIProxy != nil && cfg.APIProxy.UseAutoAuthTokenSet:
		use, force = cfg.APIProxy.UseAutoAuthToken, cfg.APIProxy.ForceAutoAuthToken
	case cfg.Cache != nil:
		use, force = cfg.Cache.UseAutoAuthToken, cfg.Cache.ForceAutoAuthToken
	}
	switch {
	case force:
		ps.mode = proxy.TokenForce
	case use:
		ps.mode = proxy.TokenIfMissing
	}
	ps.cache = cfg.Cache != nil
	return ps
}

// persistState maps Vault Agent's cache { persist "kubernetes" {} } onto
// rotor's state file when there is no state block: the same encrypted
// file keeps the token, the leases and the proxy cache across restarts,
// keyed by the pod's service-account token.
func persistState(cfg *config.Config, bind string) *stateSettings {
	if cfg.Cache == nil || cfg.Cache.Persist == nil || cfg.State != nil {
		return nil
	}
	p := cfg.Cache.Persist
	return &stateSettings{dir: p.Path, kubernetesSAToken: true, keyFile: p.ServiceAccountTokenFile, bind: bind,
		exitOnErr: p.ExitOnErr}
}

// cacheRenewer lets the scheduler keep the proxy cache's leases and
// tokens alive: a cached lease is one more entry it renews on time.
type cacheRenewer struct{ s *lease.Store }

func (r cacheRenewer) Track(t proxy.Tracked) {
	r.s.Track(lease.Tracked{ID: t.ID, LeaseID: t.LeaseID, Token: t.Token, TTL: t.TTL, Issued: t.Issued, Gone: t.Gone})
}

func (r cacheRenewer) Untrack(id string) { r.s.Untrack(id) }

// newProxy builds the API proxy (and its cache) the listeners serve.
func (a *Agent) newProxy(s *settings) (ops.APIOptions, error) {
	var api ops.APIOptions
	if len(s.listeners) == 0 {
		return api, nil
	}
	u, err := url.Parse(s.vault.Address)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return api, fmt.Errorf("api proxy: vault address %q cannot be proxied to", s.vault.Address)
	}
	if s.proxy.cache {
		a.cache = proxy.NewCache(cacheRenewer{a.store}, a.log.With("component", "proxy"))
		api.CacheClear = a.cache.ClearHandler()
	}
	p := proxy.New(proxy.Options{
		Vault:     u,
		Transport: a.client.CloneConfig().HttpClient.Transport,
		Token: func() string {
			if tok := a.lifecycle().Token(); tok != nil {
				return tok.Value()
			}
			return ""
		},
		Mode:         s.proxy.mode,
		Cache:        a.cache,
		InvalidToken: func() { a.lifecycle().Invalidate(a.lifecycle().Token()) },
		Logger:       a.log.With("component", "proxy"),
	})
	api.Proxy = http.Handler(p)
	return api, nil
}

// cacheValues yields the strings in the proxy cache's answers (they hold
// secrets: database passwords, tokens), for redaction.
func (a *Agent) cacheValues(yield func(string) bool) {
	if a.cache == nil {
		return
	}
	for v := range a.cache.Values() {
		if !yield(v) {
			return
		}
	}
}
