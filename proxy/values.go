package proxy

import (
	"encoding/json"
	"iter"

	"github.com/rotorproject/rotor/internal/redact"
)

// EntryValues yields, like Values, the strings in one cached answer (the
// entry with this ID) and the tokens it was asked with and created; it
// yields nothing if the entry is gone. Every new entry is handed to the
// Renewer's Track, so a caller that notes those IDs indexes each new
// answer once, instead of every answer again with Values.
func (c *Cache) EntryValues(id string) iter.Seq[string] {
	return func(yield func(string) bool) {
		c.mu.Lock()
		e := c.byID[id]
		var body []byte
		var toks []string
		if e != nil {
			body, toks = e.Body, []string{e.RequestToken, e.Token}
		}
		c.mu.Unlock()
		for _, t := range toks {
			if t != "" && !yield(t) {
				return
			}
		}
		var v any
		if body == nil || json.Unmarshal(body, &v) != nil {
			return
		}
		for s := range redact.Strings(v) {
			if !yield(s) {
				return
			}
		}
	}
}
