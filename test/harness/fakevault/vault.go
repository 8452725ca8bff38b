// Package fakevault is an in-memory Vault for fast unit tests of proxy,
// lease and auth. It serves the few endpoints those packages use, with
// real Vault's JSON shapes (compared against a real `vault server -dev`
// by this package's tests when a Vault binary is at hand):
//
//   - auth/token/create, lookup-self, renew-self, revoke-self
//   - auth/approle/login (roles added with AddAppRole)
//   - sys/leases/renew and sys/leases/revoke
//   - sys/internal/ui/mounts/<path> (the KV version lookup)
//   - secret/data/<path>: a KV v2 read (values set with PutKV)
//   - database/creds/<role>: a leased read, like Vault's database engine
//
// Every request is recorded (Requests), and faults can be injected by
// path: a status with an error body, a Retry-After, a delay (Fail).
// Tokens and leases expire and are refused as Vault refuses them; a
// revoked token takes its leases with it. Time is time.Now, so the fake
// works inside a testing/synctest bubble when used as a RoundTripper
// (Client), or over real HTTP (Serve). Integration tests keep using a
// real Vault (vaulttest).
package fakevault

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// RootToken is the root token every Vault starts with, as `vault server
// -dev -dev-root-token-id=root` has it.
const RootToken = "root"

// MaxTTL is the system's max lease TTL (Vault's default, 32 days).
const MaxTTL = 768 * time.Hour

// Vault is the fake server's state. Its methods may be called from any
// goroutine, while it serves requests.
type Vault struct {
	mu       sync.Mutex
	seq      int
	tokens   map[string]*token // by value
	leases   map[string]*lease // by lease ID
	kv       map[string]kvEntry
	appRoles map[string]appRole // by role_id
	dbRoles  map[string]DBRole  // by role name
	faults   []*Fault
	log      []Request
}

type token struct {
	value, accessor string
	policies        []string
	meta            map[string]string
	created         time.Time
	creationTTL     time.Duration // 0: never expires (root)
	explicitMax     time.Duration
	expires         time.Time // zero: never
	renewable       bool
	orphan          bool
	path            string
	lastRenewal     time.Time
}

type lease struct {
	id, token   string
	ttl, maxTTL time.Duration
	issued      time.Time
	expires     time.Time
	renewable   bool
}

type kvEntry struct {
	data    map[string]any
	created time.Time
	version int
}

type appRole struct {
	name, secretID string
	policies       []string
	ttl            time.Duration
}

// DBRole is a database/creds/<name> role: each read makes a new lease.
type DBRole struct {
	TTL, MaxTTL time.Duration
	Renewable   bool
}

// New returns a fake Vault holding only the root token.
func New() *Vault {
	v := &Vault{tokens: map[string]*token{}, leases: map[string]*lease{}, kv: map[string]kvEntry{},
		appRoles: map[string]appRole{}, dbRoles: map[string]DBRole{}}
	v.tokens[RootToken] = &token{value: RootToken, accessor: "acc-root", policies: []string{"root"},
		created: time.Now(), orphan: true, path: "auth/token/root"}
	return v
}

// Client returns an API client that reaches v in memory (no network, so
// it works in a synctest bubble), with no token set.
func (v *Vault) Client(t testing.TB) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = "http://vault.test"
	cfg.HttpClient = &http.Client{Transport: v}
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	return c
}

// Serve starts an httptest server in front of v, closed when the test
// ends, and returns its address (http://127.0.0.1:port).
func (v *Vault) Serve(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TokenOptions describe a token made by CreateToken.
type TokenOptions struct {
	TTL         time.Duration // 0: MaxTTL
	ExplicitMax time.Duration // 0: none
	Renewable   bool
	Policies    []string
}

// CreateToken makes a token as auth/token/create would (an orphan) and
// returns its value.
func (v *Vault) CreateToken(o TokenOptions) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.newToken(o, nil, true, "auth/token/create").value
}

// RevokeToken revokes a token and every lease it created, as Vault does.
func (v *Vault) RevokeToken(value string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.revokeToken(value)
}

// PutKV writes a KV v2 secret at secret/data/<path> (a new version).
func (v *Vault) PutKV(path string, data map[string]any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := v.kv[path]
	v.kv[path] = kvEntry{data: data, created: time.Now(), version: e.version + 1}
}

// AddAppRole adds an approle role: a login with roleID and secretID
// gets a renewable token with policies and ttl.
func (v *Vault) AddAppRole(name, roleID, secretID string, ttl time.Duration, policies ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.appRoles[roleID] = appRole{name: name, secretID: secretID, ttl: ttl, policies: policies}
}

// AddDBRole adds a database/creds/<name> role.
func (v *Vault) AddDBRole(name string, r DBRole) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dbRoles[name] = r
}

// LeaseState is what the fake knows of a lease.
type LeaseState struct {
	Token     string
	Expires   time.Time
	Renewable bool
	Revoked   bool // revoked, or expired and forgotten
}

// Lease returns the state of the lease with this ID.
func (v *Vault) Lease(id string) LeaseState {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, ok := v.leases[id]
	if !ok || !time.Now().Before(l.expires) {
		return LeaseState{Revoked: true}
	}
	return LeaseState{Token: l.token, Expires: l.expires, Renewable: l.renewable}
}

// TokenTTL returns how long the token has left (0 for none, or dead).
func (v *Vault) TokenTTL(value string) time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	tok := v.live(value)
	if tok == nil || tok.expires.IsZero() {
		return 0
	}
	return time.Until(tok.expires)
}

// newToken makes a token; parent is nil for an orphan. v.mu is held.
func (v *Vault) newToken(o TokenOptions, meta map[string]string, orphan bool, path string) *token {
	v.seq++
	now := time.Now()
	ttl := o.TTL
	if ttl <= 0 || ttl > MaxTTL {
		ttl = MaxTTL
	}
	if o.ExplicitMax > 0 && ttl > o.ExplicitMax {
		ttl = o.ExplicitMax
	}
	pol := append([]string{"default"}, o.Policies...)
	tok := &token{value: fmt.Sprintf("hvs.fake%08d", v.seq), accessor: fmt.Sprintf("acc%08d", v.seq),
		policies: pol, meta: meta, created: now, creationTTL: ttl, explicitMax: o.ExplicitMax,
		expires: now.Add(ttl), renewable: o.Renewable, orphan: orphan, path: path}
	v.tokens[tok.value] = tok
	return tok
}

// live returns the token if it exists and has not expired. v.mu is held.
func (v *Vault) live(value string) *token {
	tok, ok := v.tokens[value]
	if !ok {
		return nil
	}
	if !tok.expires.IsZero() && !time.Now().Before(tok.expires) {
		v.revokeToken(value)
		return nil
	}
	return tok
}

// revokeToken forgets a token and its leases. v.mu is held.
func (v *Vault) revokeToken(value string) {
	delete(v.tokens, value)
	for id, l := range v.leases {
		if l.token == value {
			delete(v.leases, id)
		}
	}
}

// maxExpiry is when tok must die whatever renewals say. v.mu is held.
func (tok *token) maxExpiry() time.Time {
	limit := tok.created.Add(MaxTTL)
	if tok.explicitMax > 0 && tok.created.Add(tok.explicitMax).Before(limit) {
		limit = tok.created.Add(tok.explicitMax)
	}
	return limit
}
