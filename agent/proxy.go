package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/ops"
	"github.com/rotorproject/rotor/proxy"
)

// proxySettings say how listeners proxy Vault's API: whether they do
// (only with an api_proxy or cache block, unlike Vault Agent, which
// proxies on every listener), with which token mode, whether answers are
// cached, and whether rotor's TLS client certificate goes along.
type proxySettings struct {
	enabled    bool
	mode       proxy.TokenMode
	cache      bool
	clientCert bool
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
	ps.enabled = cfg.APIProxy != nil || cfg.Cache != nil
	ps.clientCert = cfg.APIProxy != nil && cfg.APIProxy.UseClientCert
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
// It also tells the redactor of each new entry (added), so the
// redaction set grows by that entry alone.
type cacheRenewer struct {
	s     *lease.Store
	added func(id string)
}

// cacheRenewer returns the Renewer the proxy cache is built with.
func (a *Agent) cacheRenewer() cacheRenewer {
	return cacheRenewer{s: a.store, added: a.redact.cacheAdded}
}

func (r cacheRenewer) Track(t proxy.Tracked) {
	r.added(t.ID)
	r.s.Track(lease.Tracked{ID: t.ID, LeaseID: t.LeaseID, Token: t.Token, TTL: t.TTL, Issued: t.Issued, Gone: t.Gone})
}

func (r cacheRenewer) Untrack(id string) { r.s.Untrack(id) }

// newProxy builds the API proxy (and its cache) the listeners serve.
func (a *Agent) newProxy(s *settings) (ops.APIOptions, error) {
	var api ops.APIOptions
	if len(s.listeners) == 0 || !s.proxy.enabled {
		return api, nil
	}
	u, err := url.Parse(s.vault.Address)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return api, fmt.Errorf("api proxy: vault address %q cannot be proxied to", s.vault.Address)
	}
	// The proxy's own client: rotor's TLS settings, its client
	// certificate only when lent (use_client_cert).
	vc := s.vault
	if !s.proxy.clientCert {
		vc.ClientCert, vc.ClientKey = "", ""
	}
	pc, err := vaultclient.New(vc, vaultclient.Options{MaxConnsPerHost: s.maxConns, Observe: a.metrics.Request})
	if err != nil {
		return api, fmt.Errorf("api proxy: %w", err)
	}
	if s.proxy.cache {
		a.cache = proxy.NewCache(a.cacheRenewer(), a.log.With("component", "proxy"))
		api.CacheClear = a.cache.ClearHandler()
	}
	p := proxy.New(proxy.Options{
		Vault:     u,
		Transport: pc.CloneConfig().HttpClient.Transport,
		Token: func() string {
			if tok := a.lifecycle().Token(); tok != nil {
				return tok.Value()
			}
			return ""
		},
		Accessor: func() string {
			if tok := a.lifecycle().Token(); tok != nil {
				return tok.Accessor
			}
			return ""
		},
		Mode:     s.proxy.mode,
		Cache:    a.cache,
		Rejected: a.confirmRejected,
		Logger:   a.log.With("component", "proxy"),
	})
	api.Proxy = http.Handler(p)
	return api, nil
}

// confirmRejected checks a proxied 403 to rotor's token: any client can
// make a request fail with 403 (a null token to auth/token/renew gets
// "invalid token"), so only a lookup of rotor's own token, which every
// live token may make, decides that it is dead and a login is due.
func (a *Agent) confirmRejected(ctx context.Context, token string) {
	lc := a.lifecycle()
	cur := lc.Token()
	if cur == nil || cur.Value() != token {
		return // already replaced
	}
	c, err := a.client.CloneWithHeaders()
	if err != nil {
		return
	}
	c.SetToken(token)
	vaulterr.Prepare(c)
	// A client that hangs up does not cancel the check it set off.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		if class := vaulterr.Classify(err); class != vaulterr.Denied && class != vaulterr.BadToken {
			return // Vault unreachable or failing: nothing is confirmed
		}
		a.log.Warn("the auto-auth token is no longer valid; logging in again", "component", "proxy", "accessor", cur.Accessor)
		lc.Invalidate(cur)
	}
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
