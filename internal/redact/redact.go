// Package redact hides secret values in text before it reaches a log line,
// an error, or an API answer.
//
// Exact replacement of a value is not enough: text may hold a value
// escaped (strconv.Quote in consul-template's parseInt errors, JSON in
// toJSON output), trimmed (command output), cut (a truncated message) or
// one line of it (a PEM body). So besides each value's exact forms, a Set
// indexes every window of Window bytes of each form, and Redact replaces
// any stretch of text made of such windows. No Window-byte piece of a
// secret, in any of these forms, survives, but for pieces that are only
// digits and date punctuation (see dateOrNumber): timestamps are not
// secrets, and hiding pieces of them garbles every date in a message.
package redact

import (
	"encoding/json"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Window is the length of the pieces of secrets that are recognised
// anywhere in text. Shorter values are hidden only where they appear
// whole (in one of their forms).
const Window = 16

// MinLen is the shortest value hidden at all: shorter strings ("rsa",
// "1h") are too common to replace without wrecking every log line.
const MinLen = 4

// Mask replaces what is hidden.
const Mask = "[redacted]"

// Set is a collection of secret values in every form they can take.
// Build one with New and grow it with Add; it is safe for concurrent use.
//
// A Set only grows: a caller that learns of values one at a time (a proxy
// cache gaining an answer) adds them, at a cost that depends on the new
// values alone, instead of building a Set again from every value it
// holds. Order does not matter to Redact (it marks every match, then
// masks), so Add only appends.
type Set struct {
	mu      sync.RWMutex
	exact   []string            // whole forms
	windows map[string]struct{} // every Window-byte piece of every form
	values  map[string]struct{} // values already indexed
	seen    map[string]struct{} // forms already indexed
	also    *Set                // another set whose values are hidden too (Plus)
}

// New indexes values. Empty and very short values are ignored.
func New(values iter.Seq[string]) *Set {
	s := &Set{windows: map[string]struct{}{}, values: map[string]struct{}{}, seen: map[string]struct{}{}}
	s.Add(values)
	return s
}

// Add indexes values too; a value already in s costs one map lookup.
func (s *Set) Add(values iter.Seq[string]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range values {
		if len(v) < MinLen || isTimestamp(v) {
			continue
		}
		if _, ok := s.values[v]; ok {
			continue
		}
		s.values[v] = struct{}{}
		for _, f := range forms(v) {
			if _, ok := s.seen[f]; ok || len(f) < MinLen {
				continue
			}
			s.seen[f] = struct{}{}
			s.exact = append(s.exact, f)
			for i := 0; i+Window <= len(f); i++ {
				if w := f[i : i+Window]; !dateOrNumber(w) {
					s.windows[w] = struct{}{}
				}
			}
		}
	}
}

// Secrets come with timestamps (KV v2's created_time, a token's
// expire_time) and numbers. A piece of one is in every date of the same
// minute, in certificate dates and x509's "current time ... is after ..."
// errors: hidden, they garble the message that explains a failure, and
// hide nothing (a date is no secret). So a value that is a timestamp is
// not a secret at all, and a Window-byte piece made only of digits and
// date punctuation is not indexed: a value holding one (a long numeric
// PIN) is still hidden wherever it appears whole, and its other pieces
// still are.

// timestampLayouts are the ways secrets carry dates: Vault's (RFC 3339,
// with or without fractions) and Go's time.Time.String.
var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999 -0700 MST", time.DateTime}

// isTimestamp reports whether v is a date and time, and nothing else.
func isTimestamp(v string) bool {
	if len(v) < len("2006-01-02 15:04:05") || v[4] != '-' {
		return false
	}
	for _, l := range timestampLayouts {
		if _, err := time.Parse(l, v); err == nil {
			return true
		}
	}
	return false
}

// dateOrNumber reports whether w is made only of digits and the
// punctuation of dates, times and numbers.
func dateOrNumber(w string) bool {
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case c >= '0' && c <= '9', c == '-', c == ':', c == '.', c == '+', c == 'T', c == 'Z', c == ' ', c == ',', c == '/':
		default:
			return false
		}
	}
	return true
}

// Len is the number of forms s holds: what its memory and each Redact's
// cost grow with.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.exact)
}

// forms are the ways v shows up in text: as is, trimmed, Go-quoted and
// JSON-escaped (without the surrounding quotes), and each line of a
// multi-line value (a PEM body's lines, say).
func forms(v string) []string {
	out := []string{v, strings.TrimSpace(v)}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1])
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= Window {
				out = append(out, line)
			}
		}
	}
	return out
}

// Empty reports whether the set hides nothing.
func (s *Set) Empty() bool {
	for ; s != nil; s = s.also {
		if s.Len() > 0 {
			return false
		}
	}
	return true
}

// Plus returns a set that hides what s hides and values too, without
// copying s: for values known to one caller only (the files a template
// read), added to the set every caller shares.
func (s *Set) Plus(values iter.Seq[string]) *Set {
	p := New(values)
	p.also = s
	return p
}

// Redact returns text with every known secret, and every Window-byte
// piece of one, replaced by Mask. Adjacent hidden stretches merge into one
// mask, so the output does not reveal the length of what it hides.
func (s *Set) Redact(text string) string {
	if s.Empty() || len(text) < MinLen {
		return text
	}
	hide := make([]bool, len(text))
	any := false
	for ; s != nil; s = s.also {
		any = s.mark(text, hide) || any
	}
	if !any {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !hide[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		b.WriteString(Mask)
		for i < len(text) && hide[i] {
			i++
		}
	}
	return b.String()
}

// mark sets hide over every stretch of text that s's values cover, and
// reports whether there was one.
func (s *Set) mark(text string, hide []bool) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	any := false
	mark := func(from, to int) {
		for i := from; i < to; i++ {
			hide[i] = true
		}
		any = true
	}
	if len(s.windows) > 0 {
		for i := 0; i+Window <= len(text); i++ {
			if _, ok := s.windows[text[i:i+Window]]; ok {
				mark(i, i+Window)
			}
		}
	}
	for _, f := range s.exact {
		for from := 0; ; {
			j := strings.Index(text[from:], f)
			if j < 0 {
				break
			}
			mark(from+j, from+j+len(f))
			from += j + 1
		}
	}
	return any
}

// Strings yields every string inside v (a secret's data: strings, maps,
// lists), for New. Numbers and booleans are not secrets and are skipped.
func Strings(v any) iter.Seq[string] {
	return func(yield func(string) bool) { walk(v, yield) }
}

func walk(v any, yield func(string) bool) bool {
	switch x := v.(type) {
	case string:
		return yield(x)
	case map[string]any:
		for _, e := range x {
			if !walk(e, yield) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !walk(e, yield) {
				return false
			}
		}
	case []string:
		for _, e := range x {
			if !yield(e) {
				return false
			}
		}
	}
	return true
}
