// Package proxy is rotor's Vault API proxy: an application talks to
// rotor's listener as if it were Vault, rotor adds its auto-auth token to
// requests that carry none, and responses that hold a lease or a new token
// are cached so that an identical request (a restarted app asking for its
// database credentials again) gets the same lease instead of a new one.
//
// The proxy owns no goroutine. Cached leases and tokens are kept alive by
// the scheduler through the Renewer the agent passes in.
package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenMode says when the proxy adds rotor's auto-auth token.
type TokenMode int

// Token modes (api_proxy.use_auto_auth_token).
const (
	TokenNever     TokenMode = iota // false: requests go out with the token they carry
	TokenIfMissing                  // true: the auto-auth token for requests without one
	TokenForce                      // "force": always the auto-auth token
)

// Options configure a Proxy.
type Options struct {
	// Vault is the server's base address, e.g. https://vault:8200.
	Vault *url.URL
	// Transport sends requests to Vault (TLS settings, connection limits).
	Transport http.RoundTripper
	// Token returns rotor's current auto-auth token ("" before the first
	// login). It is never logged and never returned to a client.
	Token func() string
	Mode  TokenMode
	// Cache, if set, caches leased responses and created tokens.
	Cache *Cache
	// InvalidToken is called when Vault rejects the auto-auth token (403
	// "invalid token") on a proxied request: rotor logs in again.
	InvalidToken func()
	Logger       *slog.Logger
	// MaxRequestBytes caps a request body (Vault's own default is 32 MiB);
	// MaxCachedBytes caps a response the cache will hold in memory:
	// larger answers stream through uncached.
	MaxRequestBytes, MaxCachedBytes int64
	// Timeout bounds one request to Vault (0: 5 minutes).
	Timeout time.Duration
}

// Proxy forwards /v1/ requests to Vault. Build it with New.
type Proxy struct {
	o Options
}

// New returns a proxy; it starts nothing.
func New(o Options) *Proxy {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Token == nil {
		o.Token = func() string { return "" }
	}
	if o.InvalidToken == nil {
		o.InvalidToken = func() {}
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = 32 << 20
	}
	if o.MaxCachedBytes <= 0 {
		o.MaxCachedBytes = 4 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	return &Proxy{o: o}
}

// hopHeaders are connection-level headers a proxy must not forward
// (RFC 9110 7.6.1), plus Vault's token header, which the proxy sets.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Proxy-Connection", "X-Vault-Token"}

// ServeHTTP forwards one request: with the auto-auth token when the mode
// says so, from the cache when an identical request holds a live lease.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("X-Vault-Token")
	auto := false
	if p.o.Mode == TokenForce || (p.o.Mode == TokenIfMissing && token == "") {
		if t := p.o.Token(); t != "" {
			token, auto = t, true
		}
	}
	var body []byte
	if r.ContentLength != 0 { // -1: unknown
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, p.o.MaxRequestBytes))
		if err != nil {
			vaultError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
	}
	req := &request{r: r, body: body, token: token, auto: auto}
	if c := p.o.Cache; c != nil {
		req.key = c.key(r, body, token)
		if res := c.hit(req.key); res != nil {
			p.write(w, res)
			return
		}
		// Identical requests in flight together: the first goes to Vault,
		// the others wait for its answer and take it from the cache (two
		// app replicas starting at once get one database user). If it was
		// not cached, they go to Vault themselves.
		if wait, done := c.inflight(req.key); wait != nil {
			p.extendWrite(w)
			select {
			case <-wait:
			case <-r.Context().Done():
				return
			}
			if res := c.hit(req.key); res != nil {
				p.write(w, res)
				return
			}
		} else {
			defer done()
		}
	}
	p.forward(w, req)
}

// request is one proxied request, its body read.
type request struct {
	r     *http.Request
	body  []byte
	token string // the token sent to Vault
	auto  bool   // it is rotor's auto-auth token
	key   string // cache key ("" without a cache)
}

// response is a buffered answer: from the cache, or read to be cached or
// inspected.
type response struct {
	status int
	header http.Header
	body   []byte
	hit    bool
	age    time.Duration
	cached bool // the cache is on: say HIT or MISS
}

// forward sends req to Vault and passes the answer back. Answers the
// proxy must look at (to cache them, to notice a rejected auto-auth
// token, to evict what a revocation revoked, to strip rotor's token from a
// lookup of it) are read whole, up to MaxCachedBytes; anything else, or
// anything bigger, is streamed through unchanged.
func (p *Proxy) forward(w http.ResponseWriter, req *request) {
	p.extendWrite(w)
	resp, err := p.send(req)
	if err != nil {
		vaultError(w, http.StatusBadGateway, "error contacting Vault")
		return
	}
	defer resp.Body.Close()
	inspect := req.auto && (resp.StatusCode == http.StatusForbidden || tokenLookup(req.r)) ||
		p.o.Cache != nil && (revokes(req.r) || strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))
	if inspect && resp.ContentLength <= p.o.MaxCachedBytes {
		b, err := io.ReadAll(io.LimitReader(resp.Body, p.o.MaxCachedBytes+1))
		if err != nil {
			vaultError(w, http.StatusBadGateway, "error reading Vault's answer")
			return
		}
		if int64(len(b)) <= p.o.MaxCachedBytes {
			res := &response{status: resp.StatusCode, header: resp.Header.Clone(), body: b, cached: p.o.Cache != nil}
			p.after(req, res)
			p.write(w, res)
			return
		}
		// Too big to hold: pass what was read, then the rest.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), resp.Body))
	}
	copyHeader(w.Header(), resp.Header)
	if p.o.Cache != nil {
		w.Header().Set("X-Cache", "MISS")
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// after acts on a buffered answer before it reaches the client.
func (p *Proxy) after(req *request, res *response) {
	if res.status == http.StatusForbidden && req.auto && bytes.Contains(res.body, []byte("invalid token")) {
		p.o.Logger.Warn("Vault rejected the auto-auth token on a proxied request; logging in again", "path", req.r.URL.Path)
		p.o.InvalidToken()
	}
	// A renew-self or lookup-self answer is about the caller's own token
	// (rotor's, with the auto-auth token): never cached, or a later hit
	// would hand it out unstripped.
	if c := p.o.Cache; c != nil && res.status < 300 && !tokenLookup(req.r) {
		if !c.revoked(req, res.body) {
			c.store(req, res)
		}
	}
	if req.auto && res.status == http.StatusOK && tokenLookup(req.r) {
		res.body = stripToken(res.body)
	}
}

// extendWrite gives an answer that waits for Vault the time Vault may
// take, and a minute to pass it on, past the listener's own write
// timeout (meant for rotor's endpoints, which answer at once).
func (p *Proxy) extendWrite(w http.ResponseWriter) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(p.o.Timeout + time.Minute))
}

// send builds the request to Vault and sends it.
func (p *Proxy) send(req *request) (*http.Response, error) {
	r := req.r
	u := *p.o.Vault
	u.Path = strings.TrimSuffix(u.Path, "/") + r.URL.Path
	u.RawPath, u.RawQuery = "", r.URL.RawQuery
	ctx, cancel := context.WithTimeout(r.Context(), p.o.Timeout)
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), bytes.NewReader(req.body))
	if err != nil {
		cancel()
		return nil, err
	}
	copyHeader(out.Header, r.Header)
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if req.token != "" {
		out.Header.Set("X-Vault-Token", req.token)
	}
	resp, err := p.o.Transport.RoundTrip(out)
	if err != nil {
		cancel()
		p.o.Logger.Warn("proxied request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// write sends a buffered answer to the client.
func (p *Proxy) write(w http.ResponseWriter, res *response) {
	h := w.Header()
	// Vault's headers replace any of the same name (the listener's
	// Cache-Control), as Vault would send them. Assigned, not copied: a
	// cached header is shared and never changed, and every cache hit
	// passes here.
	for k, v := range res.header {
		h[k] = v
	}
	if res.cached || res.hit {
		if res.hit {
			h["X-Cache"] = hit
			h["Age"] = []string{strconv.Itoa(int(res.age.Seconds()))}
		} else {
			h["X-Cache"] = miss
		}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(res.body))}
	w.WriteHeader(res.status)
	w.Write(res.body)
}

var hit, miss = []string{"HIT"}, []string{"MISS"}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// errorBody is an error in Vault's shape, so clients parse it as usual.
func errorBody(msg string) []byte {
	b, _ := json.Marshal(map[string][]string{"errors": {msg}})
	return b
}

func vaultError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorBody(msg))
}

// tokenLookup reports requests whose answer describes the token itself.
func tokenLookup(r *http.Request) bool {
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	return p == "auth/token/lookup-self" || p == "auth/token/renew-self"
}

// stripToken removes the token itself from a lookup-self or renew-self
// answer made with rotor's token: the application may learn the token's
// TTL and policies, not rotor's credential.
func stripToken(body []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return []byte(`{"errors":["rotor could not read Vault's answer"]}`)
	}
	if d, ok := m["data"].(map[string]any); ok {
		delete(d, "id")
	}
	if a, ok := m["auth"].(map[string]any); ok {
		delete(a, "client_token")
	}
	out, err := json.Marshal(m)
	if err != nil {
		return []byte(`{"errors":["rotor could not read Vault's answer"]}`)
	}
	return out
}
