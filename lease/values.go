package lease

import (
	"iter"

	"github.com/rotorproject/rotor/internal/redact"
)

// Values yields every string in every secret the store holds (data
// fields, and a login's client token), for redaction: whatever the store
// holds must never reach a log line, error or API answer. It holds the
// store's lock while it runs; the consumer must not call back into the
// store.
//
// Tracked entries are left out: their tokens are the proxy cache's, which
// reports them itself (proxy.Cache.Values, EntryValues). Yielding them
// here too would make every cached answer change the store's version and
// send a redactor through every value again.
func (s *Store) Values() iter.Seq[string] {
	return func(yield func(string) bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, e := range s.entries {
			if e.tracked != nil {
				continue
			}
			sec := e.val.Secret
			if sec == nil {
				continue
			}
			for v := range redact.Strings(sec.Data) {
				if !yield(v) {
					return
				}
			}
			if sec.Auth != nil && sec.Auth.ClientToken != "" && !yield(sec.Auth.ClientToken) {
				return
			}
			if sec.WrapInfo != nil && sec.WrapInfo.Token != "" && !yield(sec.WrapInfo.Token) {
				return
			}
		}
	}
}
