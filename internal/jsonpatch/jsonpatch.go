// Package jsonpatch applies RFC 6902 JSON patches (add, remove, replace,
// move, copy, test) to documents as encoding/json decodes them, with RFC
// 6901 pointers (~0, ~1, and "-" for the end of an array).
//
// It is rotor's own because the injector must apply patches that users
// write in pod annotations (vault-k8s's agent-json-patch) to untrusted
// containers without a new module: a patch either applies whole or not at
// all, its errors name the failing operation and never repeat a value
// (a value may be a secret), and a patch cannot grow a document past
// MaxNodes values (a few "copy" operations would otherwise double it
// each time).
package jsonpatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxNodes bounds the values (objects, arrays and scalars, each counted
// once) a document may hold while a patch is applied to it.
const MaxNodes = 100000

// Operation is one operation of a patch.
type Operation struct {
	// Op is add, remove, replace, move, copy or test.
	Op string
	// Path is where the operation acts; From is the source of a move or
	// a copy. Both are as written (escaped).
	Path, From string
	// Value is the value of an add, a replace or a test, decoded with
	// json.Number for numbers.
	Value any

	path, from Pointer
}

// Patch is a list of operations, applied in order.
type Patch []Operation

// OpError is an operation that could not be applied (or decoded).
type OpError struct {
	// Index counts from 0.
	Index    int
	Op, Path string
	Err      error
}

func (e *OpError) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("operation %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("operation %d (%s %s): %v", e.Index, e.Op, e.Path, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Decode reads a patch: a JSON array of operation objects, each with an
// "op" and a "path", a "from" for move and copy, and a "value" for add,
// replace and test (null is a value; an absent member is not). Other
// members are ignored, as RFC 6902 says.
func Decode(b []byte) (Patch, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw []map[string]json.RawMessage
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not a JSON patch (an array of operation objects): %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not a JSON patch: data after the array")
	}
	if raw == nil {
		return nil, errors.New("not a JSON patch: null, not an array")
	}
	p := make(Patch, 0, len(raw))
	for i, m := range raw {
		op, err := decodeOp(m)
		if err != nil {
			return nil, &OpError{Index: i, Op: op.Op, Path: op.Path, Err: err}
		}
		p = append(p, op)
	}
	return p, nil
}

func decodeOp(m map[string]json.RawMessage) (Operation, error) {
	var op Operation
	str := func(k string) (string, bool, error) {
		r, ok := m[k]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return "", true, fmt.Errorf("%q is not a string", k)
		}
		return s, true, nil
	}
	name, ok, err := str("op")
	if err != nil {
		return op, err
	}
	if !ok {
		return op, errors.New(`no "op"`)
	}
	op.Op = name
	switch name {
	case "add", "remove", "replace", "move", "copy", "test":
	default:
		op.Op = ""
		return op, fmt.Errorf("unknown op %q (add, remove, replace, move, copy, test)", name)
	}
	if op.Path, ok, err = str("path"); err != nil {
		return op, err
	} else if !ok {
		return op, errors.New(`no "path"`)
	}
	if op.path, err = ParsePointer(op.Path); err != nil {
		return op, fmt.Errorf("path: %w", err)
	}
	switch name {
	case "move", "copy":
		if op.From, ok, err = str("from"); err != nil {
			return op, err
		} else if !ok {
			return op, errors.New(`no "from"`)
		}
		if op.from, err = ParsePointer(op.From); err != nil {
			return op, fmt.Errorf("from: %w", err)
		}
		if name == "move" && op.from.isPrefixOf(op.path) {
			return op, errors.New("cannot move a value into itself")
		}
	case "add", "replace", "test":
		r, ok := m["value"]
		if !ok {
			return op, errors.New(`no "value"`)
		}
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		if err := d.Decode(&op.Value); err != nil {
			return op, fmt.Errorf("value: %w", err)
		}
	}
	return op, nil
}

// Apply applies the patch to doc, a document as encoding/json decodes it
// (other Go values are read through their JSON encoding), and returns the
// patched document. doc itself is never changed: on an error, nothing of
// the patch applies. The result shares nothing with doc or the patch.
func (p Patch) Apply(doc any) (any, error) {
	st := &state{}
	doc, err := st.copy(doc)
	if err != nil {
		return nil, err
	}
	for i := range p {
		op := &p[i]
		if doc, err = st.apply(doc, op); err != nil {
			return nil, &OpError{Index: i, Op: op.Op, Path: op.Path, Err: err}
		}
	}
	return doc, nil
}

// ApplyJSON applies the patch to a JSON document.
func (p Patch) ApplyJSON(doc []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	out, err := p.Apply(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// state counts the values the document has held, to bound its growth.
type state struct{ nodes int }

func (st *state) apply(doc any, op *Operation) (any, error) {
	// Operations built in Go rather than decoded have their pointers
	// parsed here (into locals: a patch may be applied concurrently).
	path, from := op.path, op.from
	var err error
	if path == nil {
		if path, err = ParsePointer(op.Path); err != nil {
			return nil, fmt.Errorf("path: %w", err)
		}
	}
	if (op.Op == "move" || op.Op == "copy") && from == nil {
		if from, err = ParsePointer(op.From); err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
	}
	switch op.Op {
	case "add":
		v, err := st.copy(op.Value)
		if err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "remove":
		return remove(doc, path)
	case "replace":
		v, err := st.copy(op.Value)
		if err != nil {
			return nil, err
		}
		return replace(doc, path, v)
	case "move":
		if from.isPrefixOf(path) {
			return nil, errors.New("cannot move a value into itself")
		}
		v, err := get(doc, from)
		if err != nil {
			return nil, fmt.Errorf("from %w", err)
		}
		if samePointer(from, path) {
			return doc, nil
		}
		if doc, err = remove(doc, from); err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "copy":
		v, err := get(doc, from)
		if err != nil {
			return nil, fmt.Errorf("from %w", err)
		}
		if v, err = st.copy(v); err != nil {
			return nil, err
		}
		return add(doc, path, v)
	case "test":
		v, err := get(doc, path)
		if err != nil {
			return nil, err
		}
		if !equal(v, op.Value) {
			// Neither value is repeated: either may be a secret.
			return nil, errors.New("test failed: the value differs")
		}
		return doc, nil
	}
	return nil, fmt.Errorf("unknown op %q", op.Op)
}

func samePointer(a, b Pointer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// edit descends doc along p and calls f with the parent of p's last
// token; what f returns replaces that parent (an array may grow or shrink
// into a new slice).
func edit(doc any, p Pointer, f func(parent any, tok string) (any, error)) (any, error) {
	return editAt(doc, p, 0, f)
}

func editAt(node any, p Pointer, depth int, f func(parent any, tok string) (any, error)) (any, error) {
	if depth == len(p)-1 {
		return f(node, p[depth])
	}
	c, err := child(node, p[depth])
	if err != nil {
		return nil, pathError(p[:depth+1], err)
	}
	nc, err := editAt(c, p, depth+1, f)
	if err != nil {
		return nil, err
	}
	switch n := node.(type) {
	case map[string]any:
		n[p[depth]] = nc
	case []any:
		i, _ := index(p[depth], len(n), false) // valid: child succeeded
		n[i] = nc
	}
	return node, nil
}

func add(doc any, p Pointer, v any) (any, error) {
	if len(p) == 0 {
		return v, nil
	}
	return edit(doc, p, func(parent any, tok string) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			c[tok] = v
			return c, nil
		case []any:
			i := len(c)
			if tok != "-" {
				var err error
				if i, err = index(tok, len(c), true); err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
			}
			out := make([]any, 0, len(c)+1)
			out = append(append(append(out, c[:i]...), v), c[i:]...)
			return out, nil
		}
		return nil, fmt.Errorf("%s: %s is neither an object nor an array", p, describe(p[:len(p)-1]))
	})
}

func remove(doc any, p Pointer) (any, error) {
	if len(p) == 0 {
		return nil, errors.New("cannot remove the whole document")
	}
	return edit(doc, p, func(parent any, tok string) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			if _, ok := c[tok]; !ok {
				return nil, fmt.Errorf("%s: no member %q to remove", p, tok)
			}
			delete(c, tok)
			return c, nil
		case []any:
			i, err := index(tok, len(c), false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			out := make([]any, 0, len(c)-1)
			return append(append(out, c[:i]...), c[i+1:]...), nil
		}
		return nil, fmt.Errorf("%s: %s is neither an object nor an array", p, describe(p[:len(p)-1]))
	})
}

func replace(doc any, p Pointer, v any) (any, error) {
	if len(p) == 0 {
		return v, nil
	}
	return edit(doc, p, func(parent any, tok string) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			if _, ok := c[tok]; !ok {
				return nil, fmt.Errorf("%s: no member %q to replace", p, tok)
			}
			c[tok] = v
			return c, nil
		case []any:
			i, err := index(tok, len(c), false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			c[i] = v
			return c, nil
		}
		return nil, fmt.Errorf("%s: %s is neither an object nor an array", p, describe(p[:len(p)-1]))
	})
}
