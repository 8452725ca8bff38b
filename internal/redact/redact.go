// Package redact hides secret values in text before it reaches a log line,
// an error, or an API answer.
//
// Exact replacement of a value is not enough: text may hold a value
// escaped (strconv.Quote in consul-template's parseInt errors, JSON in
// toJSON output), trimmed (command output), cut (a truncated message) or
// one line of it (a PEM body). So besides each value's exact forms, a Set
// indexes every window of Window bytes of each form, and Redact replaces
// any stretch of text made of such windows. No Window-byte piece of a
// secret, in any of these forms, survives.
package redact

import (
	"encoding/json"
	"iter"
	"strconv"
	"strings"
	"sync"
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
		if len(v) < MinLen {
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
				s.windows[f[i:i+Window]] = struct{}{}
			}
		}
	}
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
func (s *Set) Empty() bool { return s.Len() == 0 }

// Redact returns text with every known secret, and every Window-byte
// piece of one, replaced by Mask. Adjacent hidden stretches merge into one
// mask, so the output does not reveal the length of what it hides.
func (s *Set) Redact(text string) string {
	if s.Empty() || len(text) < MinLen {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	hide := make([]bool, len(text))
	any := false
	mark := func(from, to int) {
		for i := from; i < to; i++ {
			hide[i] = true
		}
		any = true
	}
	for i := 0; i+Window <= len(text); i++ {
		if _, ok := s.windows[text[i:i+Window]]; ok {
			mark(i, i+Window)
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
