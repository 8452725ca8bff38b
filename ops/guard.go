package ops

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
)

// RequestHeader is the header every mutation must carry, with the value
// "true" (Vault's own: the Vault CLI and API client send it on every
// request). A browser cannot add a custom header to a cross-site request
// without a CORS preflight, and rotor never answers one, so a web page
// cannot forge a mutation.
const RequestHeader = "X-Vault-Request"

// MaxBodyBytes bounds every request body. rotor's endpoints read none;
// the bound keeps a client from making the server read (and drain)
// arbitrarily much.
const MaxBodyBytes = 64 << 10

// route is one endpoint and what the guard must know about it.
type route struct {
	pattern string
	handler http.HandlerFunc
	// mutation: the endpoint changes state. It needs RequestHeader; any
	// method other than GET and HEAD is treated as a mutation anyway.
	mutation bool
	// metrics: served on a metrics_only listener too.
	metrics bool
	// proxy: Vault's API, forwarded. Like Vault Agent's, it needs the
	// request header only with require_request_header (Vault clients
	// need not send it; a browser's cross-site requests are refused by
	// the Origin and Fetch Metadata checks), and it bounds bodies itself.
	proxy bool
}

// guard is the one place where the local API's protections are checked,
// in front of every route. Moving the routes (e.g. under /agent/v1/) or
// adding a proxy behind it keeps them: new routes declare their flags.
type guard struct {
	mux    *http.ServeMux
	routes map[string]route // by pattern
	unix   bool             // listening on a unix socket
	hosts  map[string]bool  // Host names allowed beyond loopback names and IPs
	// requireAll: require_request_header, on every endpoint.
	requireAll bool
	// proxy is the /v1/ route's handler, if any: a clean /v1/ path goes
	// to it without the mux's pattern match (see ServeHTTP).
	proxy http.HandlerFunc
}

func newGuard(routes []route, metricsOnly, unix, requireHeader bool, hosts map[string]bool) *guard {
	g := &guard{mux: http.NewServeMux(), routes: map[string]route{}, unix: unix, hosts: hosts,
		// As Vault Agent: a metrics_only listener ignores
		// require_request_header (it serves nothing that changes state).
		requireAll: requireHeader && !metricsOnly}
	for _, rt := range routes {
		if metricsOnly && !rt.metrics {
			continue
		}
		g.mux.HandleFunc(rt.pattern, rt.handler)
		g.routes[rt.pattern] = rt
		if rt.proxy && rt.pattern == "/v1/" {
			g.proxy = rt.handler
		}
	}
	return g
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Answers are JSON or metrics text: never let a browser sniff them as
	// HTML, and never cache status (it changes, and may be private). Set
	// as canonical keys with shared values: this runs for every request.
	h["X-Content-Type-Options"] = nosniff
	h["Cache-Control"] = noStore
	// DNS rebinding: a page on evil.example whose name then resolves to
	// 127.0.0.1 reaches this port as "same origin", but its requests
	// carry Host: evil.example. Over a unix socket there is no DNS and no
	// browser, so no Host to check.
	if !g.unix && !g.hostAllowed(r.Host) {
		writeJSON(w, http.StatusMisdirectedRequest, errorBody("host not allowed: use localhost, an IP address, or a name in the listener's allowed hosts"))
		return
	}
	// A browser names the page that sent a request: refuse any other
	// site's page, even for reads, so nothing here is reachable from the
	// web. Requests from tools carry neither header.
	if !sameOrigin(r) {
		writeJSON(w, http.StatusForbidden, errorBody("cross-origin requests are refused"))
		return
	}
	if crossSite(r) {
		writeJSON(w, http.StatusForbidden, errorBody("cross-site requests are refused"))
		return
	}
	// Every proxied request passes here, so the /v1/ route skips the
	// mux's pattern match when the mux would pick it anyway: a clean path
	// (the mux redirects others) under /v1/, where no other route is.
	if g.proxy != nil && strings.HasPrefix(r.URL.Path, "/v1/") && path.Clean(r.URL.Path) == r.URL.Path && r.Method != http.MethodConnect {
		if g.requireAll && !hasRequestHeader(r) {
			writeJSON(w, http.StatusPreconditionFailed, errorBody("missing \""+RequestHeader+"\": true\" header"))
			return
		}
		g.proxy(w, r)
		return
	}
	_, pattern := g.mux.Handler(r)
	rt := g.routes[pattern]
	if !rt.proxy {
		if r.ContentLength > MaxBodyBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody("request body too large"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	}
	mutation := !rt.proxy && (rt.mutation || (r.Method != http.MethodGet && r.Method != http.MethodHead))
	if (mutation || g.requireAll) && !hasRequestHeader(r) {
		// 412, as Vault Agent answers require_request_header.
		writeJSON(w, http.StatusPreconditionFailed, errorBody("missing \""+RequestHeader+": true\" header"))
		return
	}
	g.mux.ServeHTTP(w, r)
}

var (
	nosniff = []string{"nosniff"}
	noStore = []string{"no-store"}
)

// hasRequestHeader reports whether r carries RequestHeader exactly once,
// with the value "true" (as Vault checks it).
func hasRequestHeader(r *http.Request) bool {
	v := r.Header.Values(RequestHeader)
	return len(v) == 1 && v[0] == "true"
}

// hostAllowed accepts loopback names, IP literals, and configured names.
// An IP literal is safe: DNS rebinding needs a name the attacker's DNS
// answers for, and a page served from an IP literal is that origin.
func (g *guard) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case host == "":
		// HTTP/1.0 without Host (HTTP/1.1 without it is refused by
		// net/http): not a browser.
		return true
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		// Browsers resolve *.localhost to loopback themselves (RFC 6761),
		// never through DNS.
		return true
	case g.hosts[host]:
		return true
	}
	_, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return err == nil
}

// sameOrigin reports whether every Origin header of r is r's own origin
// (scheme and Host); true when there is none. "null" (sandboxed frames,
// file: pages, redirects) is never same-origin.
func sameOrigin(r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	for _, o := range r.Header.Values("Origin") {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != scheme || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

// crossSite reports whether the browser says the request comes from
// another site (Fetch Metadata). "same-site" is refused too: another port
// or subdomain of localhost is another program.
func crossSite(r *http.Request) bool {
	for _, v := range r.Header.Values("Sec-Fetch-Site") {
		if v = strings.ToLower(strings.TrimSpace(v)); v == "cross-site" || v == "same-site" {
			return true
		}
	}
	return false
}

// parseHosts turns a comma-separated list of names (a port, if given, is
// ignored: the Host check is by name) into a set of lowercase names.
func parseHosts(list string) map[string]bool {
	m := map[string]bool{}
	for _, h := range strings.Split(list, ",") {
		h = strings.TrimSpace(h)
		if name, _, err := net.SplitHostPort(h); err == nil {
			h = name
		}
		if h = strings.TrimSuffix(strings.ToLower(h), "."); h != "" {
			m[h] = true
		}
	}
	return m
}

func errorBody(msg string) map[string]string { return map[string]string{"error": msg} }
