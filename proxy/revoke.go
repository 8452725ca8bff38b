package proxy

import (
	"net/http"
	"strings"
)

// revocation names what kind of revocation r is ("" and false if none).
func revocation(r *http.Request) (string, bool) {
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	for _, k := range []string{"sys/leases/revoke-prefix/", "sys/revoke-prefix/", "sys/leases/revoke-force/", "sys/revoke-force/"} {
		if strings.HasPrefix(p, k) {
			return "prefix", true
		}
	}
	switch {
	case p == "sys/leases/revoke", strings.HasPrefix(p, "sys/leases/revoke/"), strings.HasPrefix(p, "sys/revoke/"):
		return "lease", true
	case p == "auth/token/revoke", p == "auth/token/revoke-self", p == "auth/token/revoke-accessor", p == "auth/token/revoke-orphan":
		return p[len("auth/token/"):], true
	}
	return "", false
}

// revoked evicts what a successful revocation request revoked, as Vault
// Agent does, and reports whether req was one (its answer is not cached).
// Revoking a token evicts it, its leases and its child tokens; revoking
// it as an orphan keeps its children.
//
// Every match needs a non-empty name: an empty token, lease ID or
// accessor is nobody's, and must never match the entries that have none.
func (c *Cache) revoked(req *request) bool {
	kind, ok := revocation(req.r)
	if !ok {
		return false
	}
	p := strings.TrimPrefix(req.r.URL.Path, "/v1/")
	body := requestData(req.r, req.body)
	str := func(k string) string { return param(body, k) }
	switch kind {
	case "lease":
		id := str("lease_id")
		if id == "" {
			_, id, _ = strings.Cut(strings.TrimPrefix(p, "sys/leases/"), "revoke/")
			if id == "" {
				id = strings.TrimPrefix(p, "sys/revoke/")
			}
		}
		c.evict(func(e *Entry) bool { return id != "" && e.LeaseID == id }, "lease revoked through the proxy")
	case "prefix":
		i := strings.Index(p, "/revoke-")
		_, prefix, _ := strings.Cut(p[i+1:], "/")
		c.evict(func(e *Entry) bool { return prefix != "" && strings.HasPrefix(e.LeaseID, prefix) }, "lease prefix revoked through the proxy")
	case "revoke":
		tok := str("token")
		c.evict(func(e *Entry) bool { return tok != "" && e.Token == tok }, "token revoked through the proxy")
	case "revoke-self":
		tok := req.token
		c.evict(func(e *Entry) bool { return tok != "" && (e.Token == tok || e.Parent == tok) }, "token revoked through the proxy")
	case "revoke-accessor":
		acc := str("accessor")
		c.evict(func(e *Entry) bool { return acc != "" && e.Accessor == acc }, "token revoked through the proxy")
	case "revoke-orphan":
		tok := str("token")
		// Its leases die with it; its child tokens live on, now orphans.
		c.orphan(tok)
		c.evict(func(e *Entry) bool { return tok != "" && (e.Token == tok || e.Kind == KindLease && e.Parent == tok) }, "token revoked through the proxy")
	}
	return true
}

// orphan detaches tok's child tokens, so that evicting tok keeps them.
func (c *Cache) orphan(tok string) {
	if tok == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byID {
		if e.Kind == KindToken && e.Parent == tok {
			e.Parent = ""
		}
	}
}
