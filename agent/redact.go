package agent

import (
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/redact"
)

// secrets indexes every secret value rotor holds, and its token, so that
// no error or command output shows one.
//
// The index is kept until a value is added or replaced (or the token
// changes): every failed render asks for it, and with thousands of
// templates failing together (Vault down) building it each time was
// quadratic. The versions are read before the values, so a value that
// arrives meanwhile makes the next call build it again.
func (a *Agent) secrets() *redact.Set {
	life := a.lifecycle()
	tok := life.Token()
	key := redactKey{store: a.store.ValuesVersion(), tok: tok, life: life, creds: life.CredentialsVersion()}
	if a.cache != nil {
		key.cache = a.cache.ValuesVersion()
	}
	a.redactMu.Lock()
	defer a.redactMu.Unlock()
	if a.redactSet != nil && a.redactKey == key {
		return a.redactSet
	}
	a.redactSet, a.redactKey = a.buildSecrets(tok, life), key
	return a.redactSet
}

// redactKey is what the cached redaction set was built from.
type redactKey struct {
	store, cache uint64
	tok          *auth.Token
	life         *auth.Lifecycle // a reload replaces it
	creds        uint64
}

// buildSecrets indexes the store's values, the proxy cache's, tok, and
// the credentials rotor logs in with (secret_id, JWT, token file).
func (a *Agent) buildSecrets(tok *auth.Token, life *auth.Lifecycle) *redact.Set {
	return redact.New(func(yield func(string) bool) {
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
	})
}
