package jsonpatch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Pointer is a parsed RFC 6901 JSON pointer: its reference tokens,
// unescaped. The empty Pointer is the whole document.
type Pointer []string

// ParsePointer reads a JSON pointer: "" (the whole document) or a "/"
// followed by tokens separated by "/", in which "~1" stands for "/" and
// "~0" for "~". Any other "~" is an error, as RFC 6901 requires.
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if s[0] != '/' {
		return nil, errors.New("a JSON pointer is empty or starts with /")
	}
	toks := strings.Split(s[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("token %d: ~ must be followed by 0 or 1", i+1)
			}
		}
		// ~1 first: "~01" is "~1", not "/".
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return Pointer(toks), nil
}

// Escape makes one reference token of a key: "~" becomes "~0" and "/"
// becomes "~1".
func Escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// String is the pointer in its escaped form.
func (p Pointer) String() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteByte('/')
		b.WriteString(Escape(t))
	}
	return b.String()
}

// isPrefixOf reports whether p is a proper prefix of q (q points inside
// the value p points to).
func (p Pointer) isPrefixOf(q Pointer) bool {
	if len(p) >= len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// index reads an array index token: "0", or digits without a leading
// zero, below n (or equal to n when end is allowed, for an add).
func index(tok string, n int, end bool) (int, error) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, fmt.Errorf("%q is not an array index", tok)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, fmt.Errorf("%q is not an array index", tok)
		}
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i > n || (i == n && !end) {
		return 0, fmt.Errorf("index %s is out of range (the array has %d elements)", tok, n)
	}
	return i, nil
}

// child returns the member or element tok of node.
func child(node any, tok string) (any, error) {
	switch c := node.(type) {
	case map[string]any:
		v, ok := c[tok]
		if !ok {
			return nil, fmt.Errorf("no member %q", tok)
		}
		return v, nil
	case []any:
		n, err := index(tok, len(c), false)
		if err != nil {
			return nil, err
		}
		return c[n], nil
	}
	return nil, errNotContainer
}

var errNotContainer = errors.New("not inside an object or an array")

// get returns the value p points to in doc.
func get(doc any, p Pointer) (any, error) {
	cur := doc
	for i, tok := range p {
		v, err := child(cur, tok)
		if err != nil {
			return nil, pathError(p[:i+1], err)
		}
		cur = v
	}
	return cur, nil
}

// pathError names where a step failed.
func pathError(p Pointer, err error) error {
	if errors.Is(err, errNotContainer) {
		return fmt.Errorf("%s: %s is neither an object nor an array", p, describe(p[:len(p)-1]))
	}
	return fmt.Errorf("%s: %w", p, err)
}

// Get returns the value the pointer s points to in doc (a document as
// encoding/json decodes it). doc is not changed.
func Get(doc any, s string) (any, error) {
	p, err := ParsePointer(s)
	if err != nil {
		return nil, err
	}
	return get(doc, p)
}

func describe(p Pointer) string {
	if len(p) == 0 {
		return "the document"
	}
	return p.String()
}
