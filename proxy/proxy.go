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
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// TokenMode says when the proxy adds rotor's auto-auth token.
type TokenMode int

// Token modes (api_proxy.use_auto_auth_token).
const (
	TokenNever     TokenMode = iota // false: requests go out with the token they carry
	TokenIfMissing                  // true: the auto-auth token for requests without one
	TokenForce                      // "force": always the auto-auth token
)

// Limits of a proxy whose Options leave them zero. Requests that create
// leases and tokens, and their answers, are small: what is bigger streams
// through, uncached, so hostile uploads cost buffers, not their size.
const (
	DefaultMaxRequestBytes  = 32 << 20 // Vault's own max_request_size
	DefaultMaxBufferedBytes = 64 << 10
	DefaultMaxCachedBytes   = 256 << 10
	DefaultMaxInFlight      = 64
	DefaultHintInterval     = 2 * time.Second
)

// Options configure a Proxy.
type Options struct {
	// Vault is the server's base address, e.g. https://vault:8200.
	Vault *url.URL
	// Transport sends requests to Vault (TLS settings, connection limits).
	// It carries rotor's TLS client certificate only when the operator
	// lends it (api_proxy { use_client_cert = true }).
	Transport http.RoundTripper
	// Token returns rotor's current auto-auth token ("" before the first
	// login), Accessor its accessor. Neither is ever logged; the token is
	// never returned to a client.
	Token    func() string
	Accessor func() string
	Mode     TokenMode
	// Cache, if set, caches leased responses and created tokens.
	Cache *Cache
	// Rejected is a hint that Vault answered 403 to a request made with
	// rotor's token. A client can make any request fail (a null token to
	// auth/token/renew gets "invalid token"), so the callee confirms with
	// a lookup of rotor's own token before it logs in again. Calls are at
	// most one per HintInterval; the request waits for the call.
	Rejected     func(ctx context.Context, token string)
	HintInterval time.Duration
	Logger       *slog.Logger
	// MaxRequestBytes caps a request body (Vault's own default is 32 MiB).
	// Bodies up to MaxBufferedBytes are read whole (to key the cache and
	// check the request); larger ones stream to Vault uncached.
	// MaxCachedBytes caps an answer the proxy holds in memory: larger
	// answers stream through uncached.
	MaxRequestBytes, MaxBufferedBytes, MaxCachedBytes int64
	// MaxInFlight bounds the requests proxied at once; more are answered
	// 503 with Retry-After, as an overloaded Vault answers.
	MaxInFlight int
	// Timeout bounds one request to Vault (0: 5 minutes).
	Timeout time.Duration
}

// Proxy forwards /v1/ requests to Vault. Build it with New.
type Proxy struct {
	o        Options
	inflight chan struct{}
	hints    *rate.Limiter
}

// New returns a proxy; it starts nothing.
func New(o Options) *Proxy {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Token == nil {
		o.Token = func() string { return "" }
	}
	if o.Accessor == nil {
		o.Accessor = func() string { return "" }
	}
	if o.Rejected == nil {
		o.Rejected = func(context.Context, string) {}
	}
	if o.HintInterval <= 0 {
		o.HintInterval = DefaultHintInterval
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if o.MaxCachedBytes <= 0 {
		o.MaxCachedBytes = DefaultMaxCachedBytes
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	return &Proxy{o: o, inflight: make(chan struct{}, o.MaxInFlight), hints: rate.NewLimiter(rate.Every(o.HintInterval), 1)}
}

// hopHeaders are connection-level headers a proxy must not forward
// (RFC 9110 7.6.1), plus Vault's token header, which the proxy sets.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Proxy-Connection", "X-Vault-Token"}

// ServeHTTP forwards one request: with the auto-auth token when the mode
// says so, from the cache when the same caller's identical request holds
// a live lease. Requests that would hand out, revoke or replace rotor's
// token are refused (refusal).
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case p.inflight <- struct{}{}:
		defer func() { <-p.inflight }()
	default:
		w.Header().Set("Retry-After", "1")
		vaultError(w, http.StatusServiceUnavailable, "rotor: too many proxied requests in flight; retry")
		return
	}
	token := callerToken(r)
	auto := false
	if p.o.Mode == TokenForce || (p.o.Mode == TokenIfMissing && token == "") {
		if t := p.o.Token(); t != "" {
			token, auto = t, true
		}
	}
	body, stream, err := p.readBody(w, r)
	if err != nil {
		vaultError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	path := apiPath(r)
	_, revocation := leaseRevocation(path, nil)
	guarded := tokenEndpoint(path) != "" || revocation
	if guarded && stream != nil {
		// The token and lease endpoints take a few parameters: a body
		// too big to read is not one rotor will pass on unchecked.
		vaultError(w, http.StatusRequestEntityTooLarge, "request body too large for this path")
		return
	}
	var data map[string]any
	if guarded {
		data = requestData(r, body)
	}
	if why := refusal(r, data, auto, self{token: p.o.Token(), accessor: p.o.Accessor()}); why != "" {
		p.o.Logger.Warn("proxied request refused", "method", r.Method, "path", r.URL.Path, "reason", why)
		vaultError(w, http.StatusForbidden, why)
		return
	}
	req := &request{r: r, body: body, stream: stream, token: token, auto: auto}
	// An empty token is nobody's identity: its answers are neither served
	// from the cache nor cached.
	if c := p.o.Cache; c != nil && token != "" && stream == nil && cacheable(path) {
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

// readBody reads a request body of up to MaxBufferedBytes whole. A larger
// one (up to MaxRequestBytes) is returned as stream, to be passed on as
// it arrives.
func (p *Proxy) readBody(w http.ResponseWriter, r *http.Request) (body []byte, stream io.Reader, err error) {
	if r.ContentLength == 0 { // -1: unknown
		return nil, nil, nil
	}
	if r.ContentLength > p.o.MaxRequestBytes {
		return nil, nil, errTooLarge
	}
	lr := http.MaxBytesReader(w, r.Body, p.o.MaxRequestBytes)
	head, err := io.ReadAll(io.LimitReader(lr, p.o.MaxBufferedBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(head)) <= p.o.MaxBufferedBytes {
		return head, nil, nil
	}
	return nil, io.MultiReader(bytes.NewReader(head), lr), nil
}

var errTooLarge = errors.New("request body too large")

// cacheable reports paths whose answers may be cached: not the answers
// about the caller's own token (a hit would hand rotor's token out
// unstripped), and not response-wrapping's (a wrapping token is single
// use: an unwrapped secret served again would replay it).
func cacheable(path string) bool {
	return !aboutCaller(path) && !strings.Contains("/"+path, "/sys/wrapping/")
}

// request is one proxied request, its body read.
type request struct {
	r      *http.Request
	body   []byte
	stream io.Reader // the body, when too big to read whole (then body is nil)
	token  string    // the token sent to Vault
	auto   bool      // it is rotor's auto-auth token
	key    string    // cache key ("" without a cache)
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
// token, to evict what a revocation revoked, to strip rotor's token) are
// read whole, up to MaxCachedBytes; anything else, or anything bigger, is
// streamed through unchanged, except an answer about rotor's own token,
// which is withheld if it is too big to check.
func (p *Proxy) forward(w http.ResponseWriter, req *request) {
	p.extendWrite(w)
	resp, err := p.send(req)
	if err != nil {
		vaultError(w, http.StatusBadGateway, "error contacting Vault")
		return
	}
	defer resp.Body.Close()
	_, revoking := revocation(req.r)
	inspect := req.auto || p.o.Cache != nil && (revoking || req.key != "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"))
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
	if req.auto && aboutCaller(apiPath(req.r)) {
		vaultError(w, http.StatusBadGateway, "rotor withheld an answer about its auto-auth token that was too big to check")
		return
	}
	copyHeader(w.Header(), resp.Header)
	if p.o.Cache != nil {
		w.Header().Set("X-Cache", "MISS")
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// after acts on a buffered answer before it reaches the client: a 403 to
// rotor's token is a hint to check it; rotor's token is taken out of the
// answer before it is cached or passed on; a revocation evicts what it
// revoked; a leased answer is cached.
func (p *Proxy) after(req *request, res *response) {
	if req.auto {
		if res.status == http.StatusForbidden && p.hints.Allow() {
			p.o.Logger.Info("Vault refused a proxied request made with the auto-auth token; checking the token", "path", req.r.URL.Path)
			p.o.Rejected(req.r.Context(), req.token)
		}
		if aboutCaller(apiPath(req.r)) && wrapped(res.body) {
			// Vault wrapped it on its own (a policy's min_wrapping_ttl):
			// the wrapping token would unwrap to rotor's token.
			p.withhold(res, "rotor withheld a response-wrapped answer about its auto-auth token")
			return
		}
		body, ok := stripSelf(res.body, req.token)
		if !ok {
			p.withhold(res, "rotor withheld an answer that holds its auto-auth token")
			return
		}
		res.body = body
	}
	if c := p.o.Cache; c != nil && res.status < 300 {
		if !c.revoked(req) && req.key != "" {
			c.store(req, res)
		}
	}
}

// withhold replaces an answer the client must not see.
func (p *Proxy) withhold(res *response, why string) {
	p.o.Logger.Warn("proxied answer withheld", "reason", why)
	res.status, res.body = http.StatusForbidden, errorBody(why)
	res.header = http.Header{"Content-Type": {"application/json"}}
}

// wrapped reports whether a Vault answer is response-wrapped.
func wrapped(body []byte) bool {
	var s struct {
		WrapInfo json.RawMessage `json:"wrap_info"`
	}
	if json.Unmarshal(body, &s) != nil {
		// Not JSON: nothing rotor can check; it is not Vault's wrapped shape.
		return false
	}
	return len(s.WrapInfo) > 0 && string(s.WrapInfo) != "null"
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
	var body io.Reader = bytes.NewReader(req.body)
	if req.stream != nil {
		body = req.stream
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		cancel()
		return nil, err
	}
	if req.stream != nil {
		out.ContentLength = r.ContentLength // -1 (chunked) when unknown
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
