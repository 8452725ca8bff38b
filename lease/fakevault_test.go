package lease

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
)

// memVault is an in-memory Vault for scheduler tests: an http.RoundTripper
// that never touches the network, so tests run in a synctest bubble with
// fake time. It serves dynamic roles (database/creds/<role>), KV v1
// secrets under secret/, lease renewal and revocation, lookup-self and
// mount lookups, and injects faults per path: a status (with Retry-After)
// or a hang until the request is cancelled or released.
type memVault struct {
	mu     sync.Mutex
	roles  map[string]role           // by role name
	leases map[string]*memLease      // by lease ID
	kv     map[string]map[string]any // by path
	faults map[string]fault          // by path prefix (renewals: lease ID prefix)
	dead   map[string]bool           // tokens lookup-self rejects
	seq    int
	log    []request
}

type role struct {
	ttl       time.Duration // granted at issue and by each renewal
	maxTTL    time.Duration // zero: none
	renewable bool
}

type memLease struct {
	id, role, token string
	issued, expires time.Time
	revoked         bool
	lapsed          bool // was found expired by a renewal
}

type fault struct {
	status     int
	retryAfter string
	hang       chan struct{} // non-nil: block until closed or cancelled
	refuse     bool          // no answer at all: Vault's port is closed
}

// request is one request the fake saw.
type request struct {
	at        time.Time
	method    string
	path      string // without /v1/
	token     string
	leaseID   string // renewals and revocations
	cancelled bool   // a hang ended by the client giving up
}

func newMemVault() *memVault {
	return &memVault{roles: map[string]role{}, leases: map[string]*memLease{}, kv: map[string]map[string]any{},
		faults: map[string]fault{}, dead: map[string]bool{}}
}

func (f *memVault) role(name string, ttl, maxTTL time.Duration, renewable bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles[name] = role{ttl: ttl, maxTTL: maxTTL, renewable: renewable}
}

func (f *memVault) put(path string, data map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kv[path] = data
}

// fault makes requests whose path (or renewed lease ID) starts with
// prefix fail; nil removes it.
func (f *memVault) fault(prefix string, ft *fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ft == nil {
		delete(f.faults, prefix)
		return
	}
	f.faults[prefix] = *ft
}

func (f *memVault) kill(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[token] = true
}

// requests returns the requests so far whose "METHOD path" starts with prefix.
func (f *memVault) requests(prefix string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.log {
		if strings.HasPrefix(r.method+" "+r.path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

func (f *memVault) lease(id string) memLease {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.leases[id]
}

func (f *memVault) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if err := f.serve(rec, r); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

func (f *memVault) serve(w http.ResponseWriter, r *http.Request) error {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	if r.Method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		r.Method = "LIST"
	}
	var body struct {
		LeaseID string `json:"lease_id"`
	}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
	}
	req := request{at: time.Now(), method: r.Method, path: path, token: r.Header.Get("X-Vault-Token"), leaseID: body.LeaseID}
	f.mu.Lock()
	idx := len(f.log)
	f.log = append(f.log, req)
	var ft *fault
	for prefix, x := range f.faults {
		if strings.HasPrefix(path, prefix) || (body.LeaseID != "" && strings.HasPrefix(body.LeaseID, prefix)) {
			ft = &x
		}
	}
	f.mu.Unlock()
	if ft != nil && ft.refuse {
		return errors.New("dial tcp 127.0.0.1:8200: connect: connection refused")
	}
	if ft != nil && ft.hang != nil {
		select {
		case <-r.Context().Done():
			f.mu.Lock()
			f.log[idx].cancelled = true
			f.mu.Unlock()
			return r.Context().Err()
		case <-ft.hang:
		}
	} else if ft != nil {
		if ft.retryAfter != "" {
			w.Header().Set("Retry-After", ft.retryAfter)
		}
		reply(w, ft.status, map[string]any{"errors": []string{"injected"}})
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer(w, r.Method, path, req, body.LeaseID)
	return nil
}

// answer serves a request; called with f.mu held.
func (f *memVault) answer(w http.ResponseWriter, method, path string, req request, leaseID string) {
	now := req.at
	switch {
	case strings.HasPrefix(path, "sys/internal/ui/mounts/"):
		first, _, _ := strings.Cut(strings.TrimPrefix(path, "sys/internal/ui/mounts/"), "/")
		reply(w, 200, map[string]any{"data": map[string]any{"path": first + "/", "type": first}})
	case path == "sys/health":
		reply(w, 200, map[string]any{"initialized": true, "sealed": false, "standby": false})
	case path == "auth/token/lookup-self":
		if f.dead[req.token] {
			reply(w, 403, map[string]any{"errors": []string{"permission denied"}})
			return
		}
		reply(w, 200, map[string]any{"data": map[string]any{"ttl": 3600}})
	case path == "auth/token/renew-self":
		if f.dead[req.token] {
			reply(w, 403, map[string]any{"errors": []string{"permission denied"}})
			return
		}
		reply(w, 200, map[string]any{"auth": map[string]any{"client_token": req.token, "lease_duration": 60, "renewable": true}})
	case strings.HasPrefix(path, "database/creds/"):
		name := strings.TrimPrefix(path, "database/creds/")
		ro, ok := f.roles[name]
		if !ok {
			reply(w, 404, map[string]any{"errors": []string{"unknown role"}})
			return
		}
		f.seq++
		id := path + "/" + strconv.Itoa(f.seq)
		f.leases[id] = &memLease{id: id, role: name, token: req.token, issued: now, expires: now.Add(ro.ttl)}
		reply(w, 200, map[string]any{"lease_id": id, "lease_duration": int(ro.ttl.Seconds()), "renewable": ro.renewable,
			"data": map[string]any{"username": "u" + strconv.Itoa(f.seq), "password": "p" + strconv.Itoa(f.seq)}})
	case path == "sys/leases/renew" && f.dead[req.token]:
		// Vault checks the token first: a revoked one is refused.
		reply(w, 403, map[string]any{"errors": []string{"permission denied"}})
	case path == "sys/leases/renew":
		l, ok := f.leases[leaseID]
		if ok && !l.revoked && now.After(l.expires) {
			l.lapsed = true
		}
		if !ok || l.revoked || l.lapsed {
			reply(w, 400, map[string]any{"errors": []string{"lease not found or lease is not renewable"}})
			return
		}
		ro := f.roles[l.role]
		grant := ro.ttl
		if ro.maxTTL > 0 {
			grant = min(grant, l.issued.Add(ro.maxTTL).Sub(now).Truncate(time.Second))
		}
		l.expires = now.Add(grant)
		reply(w, 200, map[string]any{"lease_id": leaseID, "lease_duration": int(grant.Seconds()), "renewable": ro.renewable})
	case path == "sys/leases/revoke" || strings.HasPrefix(path, "sys/leases/revoke/"):
		if l, ok := f.leases[leaseID]; ok {
			l.revoked = true
		}
		w.WriteHeader(204)
	case strings.HasPrefix(path, "secret/"):
		d, ok := f.kv[path]
		if !ok {
			reply(w, 404, map[string]any{"errors": []string{}})
			return
		}
		reply(w, 200, map[string]any{"data": d})
	default:
		reply(w, 404, map[string]any{"errors": []string{"no handler"}})
	}
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// memClient is a Vault client whose requests go to f.
func memClient(t *testing.T, f *memVault) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = "http://vault.test"
	cfg.HttpClient = &http.Client{Transport: f}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	return c
}

// token returns a login answer's token of generation gen, issued now.
func token(value string, gen int, ttl time.Duration, prevDeath time.Time) *auth.Token {
	tok := auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: value, Accessor: "acc-" + value,
		LeaseDuration: int(ttl.Seconds()), Renewable: true}}, time.Now().Round(0))
	tok.Generation, tok.PrevDeath = gen, prevDeath
	return tok
}

// issue creates a lease of role for token as if it had been issued
// earlier (at issued), and returns its ID.
func (f *memVault) issue(roleName, tok string, issued time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := "database/creds/" + roleName + "/" + strconv.Itoa(f.seq)
	f.leases[id] = &memLease{id: id, role: roleName, token: tok, issued: issued, expires: issued.Add(f.roles[roleName].ttl)}
	return id
}
