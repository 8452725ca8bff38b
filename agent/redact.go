package agent

import (
	"slices"
	"sync"

	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/redact"
)

// redactor keeps the redaction set secrets() hands out, and grows it as
// values arrive instead of building it again from every value rotor
// holds: every failed render asks for it, and with thousands of proxy
// cache entries each followed by a failure, building it each time was
// quadratic.
type redactor struct {
	// mu guards the fields below; the set itself is safe for concurrent
	// use, so callers redact while it grows.
	mu       sync.Mutex
	set      *redact.Set
	base     int         // set.Len() when it was last built in full
	storeVer uint64      // the store's ValuesVersion the set holds
	tok      *auth.Token // the token the set holds
	// life and creds: the lifecycle (a reload replaces it) and its
	// CredentialsVersion whose login credentials the set holds.
	life  *auth.Lifecycle
	creds uint64

	// newMu guards newIDs, the proxy cache entries added since the set
	// was last brought up to date. It is separate from mu: the cache
	// notes an entry while it answers a client, and must not wait for a
	// rebuild.
	newMu  sync.Mutex
	newIDs []string
}

// compactSlack is how far the set may outgrow twice its last full build
// before it is built again from the values rotor still holds. It only
// grows (a replaced secret or an evicted cache entry stays hidden, which
// is harmless), and rebuilding once it has doubled keeps memory bounded
// at an amortised constant cost per value.
const compactSlack = 4096

// cacheAdded notes a proxy cache entry just added: the cache tracks each
// new entry (through cacheRenewer) before its answer reaches the client,
// so a secret the client could print is noted before it can.
func (r *redactor) cacheAdded(id string) {
	r.newMu.Lock()
	r.newIDs = append(r.newIDs, id)
	r.newMu.Unlock()
}

// takeAdded returns the cache entries noted since the last call.
func (r *redactor) takeAdded() []string {
	r.newMu.Lock()
	defer r.newMu.Unlock()
	ids := r.newIDs
	r.newIDs = nil
	return ids
}

// secrets indexes every secret value rotor holds, and its token, so that
// no error or command output shows one. What it costs depends on what
// changed since the last call: the entries the proxy cache gained, the
// store's values if they changed (never the cache's), the token.
func (a *Agent) secrets() *redact.Set {
	r := &a.redact
	life := a.lifecycle()
	tok := life.Token()
	r.mu.Lock()
	defer r.mu.Unlock()
	// Read under mu, before any values: a value that arrives meanwhile
	// changes the version again, or is noted again, for the next call.
	storeVer := a.store.ValuesVersion()
	creds := life.CredentialsVersion()
	ids := r.takeAdded()
	if r.set == nil || r.set.Len() > 2*r.base+compactSlack {
		r.set = redact.New(a.allSecrets(tok, life))
		r.base, r.storeVer, r.tok, r.life, r.creds = r.set.Len(), storeVer, tok, life, creds
		return r.set
	}
	if life != r.life || creds != r.creds {
		// The credentials rotor logs in with (secret_id, JWT, token file).
		r.set.Add(life.Credentials())
		r.life, r.creds = life, creds
	}
	if storeVer != r.storeVer {
		r.set.Add(a.store.Values())
		r.storeVer = storeVer
	}
	for _, id := range ids {
		r.set.Add(a.cache.EntryValues(id))
	}
	if tok != r.tok {
		if tok != nil {
			r.set.Add(slices.Values([]string{tok.Value()}))
		}
		r.tok = tok
	}
	return r.set
}

// allSecrets yields the store's values, the proxy cache's, tok and the
// credentials rotor logs in with.
func (a *Agent) allSecrets(tok *auth.Token, life *auth.Lifecycle) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for v := range a.store.Values() {
			if !yield(v) {
				return
			}
		}
		cont := true
		a.cacheValues(func(v string) bool { cont = yield(v); return cont })
		if !cont {
			return
		}
		if tok != nil && !yield(tok.Value()) {
			return
		}
		for v := range life.Credentials() {
			if !yield(v) {
				return
			}
		}
	}
}
