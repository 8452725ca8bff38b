package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"iter"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/redact"
)

// Renewer keeps cached leases and tokens alive: the agent passes rotor's
// scheduler, so a cached lease is one more entry it renews on time.
type Renewer interface {
	// Track renews t until it can no longer be renewed (its max TTL is
	// reached, it was revoked, it expired), then calls t.Gone. It never
	// blocks.
	Track(t Tracked)
	// Untrack stops renewing the entry with this ID (it was evicted).
	Untrack(id string)
}

// Tracked is a cached lease or token for the Renewer.
type Tracked struct {
	ID      string // the cache entry
	LeaseID string // a lease to renew with Token; "" for a token
	Token   string // the lease's owner token, or the cached token itself
	TTL     time.Duration
	Issued  time.Time // zero: unknown (restored), renew at once
	Gone    func()
}

// Entry kinds.
const (
	KindLease = "lease"
	KindToken = "token"
)

// Entry is one cached answer: a response that created a lease or a token.
// Its fields are exported so the state file can keep the cache across a
// restart; they hold secrets and are only ever written encrypted.
type Entry struct {
	ID           string // hash of the request: method, path, query, headers, body, token (key)
	Kind         string // KindLease or KindToken
	Method       string
	Path         string // request path, e.g. /v1/database/creds/app
	Namespace    string
	RequestToken string // the token the request carried
	LeaseID      string // KindLease
	Token        string // KindToken: the token the answer created
	Accessor     string // KindToken: its accessor
	Parent       string // the managed token this entry dies with ("" for an orphan token)
	Status       int
	Header       http.Header
	Body         []byte
	Created      time.Time
	// TTL is what each renewal asks for. Every cached answer is renewable
	// (store keeps no other), so no field says so; the Renewable field an
	// older rotor's state file holds is ignored when it is read.
	TTL time.Duration
}

// Cache holds answers that created leases and tokens, keyed by request.
// An answer is cached only when the token that asked is managed by the
// cache (rotor's auto-auth token, or a token created through the proxy),
// as in Vault Agent: rotor renews what it caches, and can renew only with
// tokens it knows are alive. Safe for concurrent use.
type Cache struct {
	renewer Renewer
	log     *slog.Logger

	mu      sync.Mutex
	byID    map[string]*Entry
	managed map[string]bool          // tokens whose leases and child tokens are cached
	flights map[string]chan struct{} // requests in flight, by key
	headers map[string]http.Header   // shared answer headers (see intern)
	max     int                      // entries at most (DefaultMaxEntries; tests lower it)
}

// DefaultMaxEntries bounds the cache: each entry is a lease or token rotor
// renews, so a client cannot grow rotor's memory, or its renewals,
// without end. An answer past the bound is passed on uncached.
const DefaultMaxEntries = 20000

// NewCache returns an empty cache renewed by r.
func NewCache(r Renewer, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{renewer: r, log: log, byID: map[string]*Entry{}, managed: map[string]bool{}, flights: map[string]chan struct{}{},
		headers: map[string]http.Header{}, max: DefaultMaxEntries}
}

// Manage registers a token whose leases and child tokens may be cached:
// the agent calls it with each new auto-auth token.
func (c *Cache) Manage(token string) {
	if token == "" {
		return
	}
	c.mu.Lock()
	c.managed[token] = true
	c.mu.Unlock()
}

// key identifies a request as Vault Agent does (it hashes the whole
// request): the same method, path, query, headers, body and token get the
// same cached answer. The token is the one Vault sees (the caller's, from
// X-Vault-Token or Authorization: Bearer, or rotor's when the mode adds
// it), so the token headers themselves are left out; so are the headers
// that describe one connection, the Host a client happened to use, and
// Vault Enterprise's consistency headers (Vault Agent leaves those out
// too). Everything else can change Vault's answer (namespace, wrapping,
// policy override, a plugin's passthrough headers) and is hashed.
func (c *Cache) key(r *http.Request, body []byte, token string) string {
	h := sha256.New()
	for _, s := range []string{r.Method, r.URL.Path, r.URL.RawQuery, token} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		if !unkeyedHeaders[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			h.Write([]byte(k))
			h.Write([]byte{':'})
			h.Write([]byte(v))
			h.Write([]byte{0})
		}
	}
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// unkeyedHeaders are the request headers key leaves out (canonical names).
var unkeyedHeaders = func() map[string]bool {
	m := map[string]bool{"Content-Length": true, "X-Vault-Index": true, "X-Vault-Forward": true, "X-Vault-Inconsistent": true}
	for _, h := range hopHeaders {
		m[http.CanonicalHeaderKey(h)] = true
	}
	return m
}()

// hit returns the cached answer for key, or nil.
func (c *Cache) hit(key string) *response {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byID[key]
	if e == nil {
		return nil
	}
	// The header is shared with the entry: write copies it, nothing
	// changes it.
	return &response{status: e.Status, header: e.Header, body: e.Body, hit: true, age: time.Since(e.Created)}
}

// inflight registers a request in flight. When an identical one already
// is, it returns a channel closed when that one is done; otherwise it
// returns nil and done, to call when this request is done.
func (c *Cache) inflight(key string) (wait <-chan struct{}, done func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.flights[key]; ok {
		return ch, nil
	}
	ch := make(chan struct{})
	c.flights[key] = ch
	return nil, func() {
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(ch)
	}
}

// store caches a successful answer if it created a renewable lease or
// token for a managed token, and has the Renewer keep it alive. A request
// without a token is nobody's: its answer is never cached.
func (c *Cache) store(req *request, res *response) {
	if req.token == "" {
		return
	}
	sec, err := api.ParseSecret(bytes.NewReader(res.body))
	if err != nil || sec == nil || sec.WrapInfo != nil {
		return // not a secret, or a wrapped one (single use: never cache)
	}
	e := &Entry{ID: req.key, Method: req.r.Method, Path: req.r.URL.Path, Namespace: req.r.Header.Get("X-Vault-Namespace"),
		RequestToken: req.token, Status: res.status, Body: res.body, Created: time.Now()}
	c.mu.Lock()
	if len(c.byID) >= c.max {
		c.mu.Unlock()
		c.log.Warn("proxy cache full: answer passed on uncached", "entries", c.max, "path", e.Path)
		return
	}
	e.Header = c.intern(res.header)
	switch {
	case sec.LeaseID != "" && sec.Renewable:
		if !c.managed[req.token] {
			c.mu.Unlock()
			return
		}
		e.Kind, e.LeaseID, e.Parent = KindLease, sec.LeaseID, req.token
		e.TTL = time.Duration(sec.LeaseDuration) * time.Second
	case sec.Auth != nil && sec.Auth.ClientToken != "" && sec.Auth.Renewable:
		if !sec.Auth.Orphan {
			if !c.managed[req.token] {
				c.mu.Unlock()
				return
			}
			e.Parent = req.token
		}
		e.Kind, e.Token, e.Accessor = KindToken, sec.Auth.ClientToken, sec.Auth.Accessor
		e.TTL = time.Duration(sec.Auth.LeaseDuration) * time.Second
		c.managed[e.Token] = true
	default:
		// Nothing to renew (KV, a non-renewable lease): Vault Agent does
		// not cache these either.
		c.mu.Unlock()
		return
	}
	c.byID[e.ID] = e
	c.mu.Unlock()
	c.track(e, false)
	c.log.Debug("proxied answer cached", "kind", e.Kind, "path", e.Path)
}

// track hands e to the Renewer. A restored entry has no known issue time
// (zero Issued): the Renewer renews it at once.
func (c *Cache) track(e *Entry, restored bool) {
	issued := e.Created
	if restored {
		issued = time.Time{}
	}
	t := Tracked{ID: e.ID, LeaseID: e.LeaseID, Token: e.RequestToken, TTL: e.TTL, Issued: issued,
		Gone: func() { c.evict(func(x *Entry) bool { return x.ID == e.ID }, "no longer renewable") }}
	if e.Kind == KindToken {
		t.Token = e.Token
	}
	c.renewer.Track(t)
}

// evict removes the entries match selects, and with each token every
// entry that dies with it (its leases and child tokens). It returns how
// many were removed.
func (c *Cache) evict(match func(*Entry) bool, why string) int {
	c.mu.Lock()
	var gone []*Entry
	for _, e := range c.byID {
		if match(e) {
			gone = append(gone, e)
		}
	}
	for i := 0; i < len(gone); i++ {
		e := gone[i]
		if _, ok := c.byID[e.ID]; !ok {
			continue // already taken by an earlier cascade
		}
		delete(c.byID, e.ID)
		if e.Kind == KindToken {
			delete(c.managed, e.Token)
			for _, x := range c.byID {
				if x.Parent == e.Token {
					gone = append(gone, x)
				}
			}
		}
	}
	c.mu.Unlock()
	n := 0
	for _, e := range gone {
		c.renewer.Untrack(e.ID)
		n++
	}
	if n > 0 {
		c.log.Info("proxy cache entries evicted", "count", n, "reason", why)
	}
	return n
}

// Len is the number of cached answers.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}

// Snapshot returns every entry, for the state file, in a stable order.
func (c *Cache) Snapshot() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(c.byID))
	for _, e := range c.byID {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Restore loads entries saved by a previous run and has the Renewer keep
// them alive: it renews each at once, which also proves it still exists
// (one that does not is evicted through Gone).
func (c *Cache) Restore(entries []Entry) int {
	c.mu.Lock()
	var added []*Entry
	for i := range entries {
		e := entries[i]
		if e.ID == "" || (e.Kind != KindLease && e.Kind != KindToken) {
			continue
		}
		e.Header = c.intern(e.Header)
		c.byID[e.ID] = &e
		if e.Kind == KindToken {
			c.managed[e.Token] = true
		}
		if e.Parent != "" {
			c.managed[e.Parent] = true
		}
		added = append(added, &e)
	}
	c.mu.Unlock()
	for _, e := range added {
		c.track(e, true)
	}
	return len(added)
}

// intern returns a read-only copy of h without the headers that describe
// one answer's transfer (Date, Content-Length: net/http writes them anew),
// shared with every entry whose header is the same: Vault sends the same
// few headers with every answer, and 10,000 cached leases would otherwise
// hold 10,000 copies. Called with c.mu held.
func (c *Cache) intern(h http.Header) http.Header {
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "Date" && k != "Content-Length" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var id strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			id.WriteString(k)
			id.WriteByte(0)
			id.WriteString(v)
			id.WriteByte(0)
		}
	}
	if shared, ok := c.headers[id.String()]; ok {
		return shared
	}
	out := make(http.Header, len(keys))
	for _, k := range keys {
		out[k] = append([]string(nil), h[k]...)
	}
	if len(c.headers) < maxHeaderSets {
		c.headers[id.String()] = out
	}
	return out
}

// maxHeaderSets bounds the distinct headers intern remembers.
const maxHeaderSets = 64

// Values yields every string in the cached answers and the tokens they
// were asked with, for redaction: they hold secrets (database passwords,
// tokens) that must never reach a log line.
func (c *Cache) Values() iter.Seq[string] {
	return func(yield func(string) bool) {
		c.mu.Lock()
		var bodies [][]byte
		var toks []string
		for _, e := range c.byID {
			bodies = append(bodies, e.Body)
			toks = append(toks, e.RequestToken, e.Token)
		}
		c.mu.Unlock()
		for _, t := range toks {
			if t != "" && !yield(t) {
				return
			}
		}
		for _, b := range bodies {
			var v any
			if json.Unmarshal(b, &v) != nil {
				continue
			}
			for s := range redact.Strings(v) {
				if !yield(s) {
					return
				}
			}
		}
	}
}
