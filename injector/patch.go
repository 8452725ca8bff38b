package injector

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Op is one RFC 6902 JSON patch operation, as an AdmissionReview response
// carries it. The injector emits only add, replace and remove.
type Op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Patch is a list of operations, applied in order.
type Patch []Op

// escape makes one JSON pointer segment of a key (RFC 6901: ~ and /).
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

func unescape(seg string) string {
	return strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
}

func split(pointer string) ([]string, error) {
	if pointer == "" {
		return nil, nil
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, fmt.Errorf("JSON pointer %q does not start with /", pointer)
	}
	segs := strings.Split(pointer[1:], "/")
	for i := range segs {
		segs[i] = unescape(segs[i])
	}
	return segs, nil
}

// lookup returns the value at pointer in a decoded JSON document.
func lookup(doc any, pointer string) (any, error) {
	segs, err := split(pointer)
	if err != nil {
		return nil, err
	}
	cur := doc
	for _, s := range segs {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[s]
			if !ok {
				return nil, fmt.Errorf("%s: no member %q", pointer, s)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("%s: no element %q", pointer, s)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("%s: %q is inside a value that is neither object nor array", pointer, s)
		}
	}
	return cur, nil
}

// Apply applies the patch to a decoded JSON document (maps, slices and
// scalars as encoding/json decodes them) and returns the new document. It
// is the same operation the API server performs on the webhook's answer;
// `rotor injector render` uses it, and the tests check patches with it.
func (p Patch) Apply(doc any) (any, error) {
	// Values are copied through JSON so that the document never shares a
	// map or slice with the patch.
	for i, op := range p {
		var val any
		if op.Op != "remove" {
			b, err := json.Marshal(op.Value)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, &val); err != nil {
				return nil, err
			}
		}
		var err error
		if doc, err = applyOp(doc, op.Op, op.Path, val); err != nil {
			return nil, fmt.Errorf("patch operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
	}
	return doc, nil
}

func applyOp(doc any, op, pointer string, val any) (any, error) {
	segs, err := split(pointer)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		if op == "remove" {
			return nil, fmt.Errorf("cannot remove the whole document")
		}
		return val, nil
	}
	parentPtr := pointer[:strings.LastIndex(pointer, "/")]
	parent, err := lookup(doc, parentPtr)
	if err != nil {
		return nil, err
	}
	last := segs[len(segs)-1]
	switch c := parent.(type) {
	case map[string]any:
		_, exists := c[last]
		switch op {
		case "add":
			c[last] = val
		case "replace":
			if !exists {
				return nil, fmt.Errorf("no member %q to replace", last)
			}
			c[last] = val
		case "remove":
			if !exists {
				return nil, fmt.Errorf("no member %q to remove", last)
			}
			delete(c, last)
		default:
			return nil, fmt.Errorf("unsupported operation %q", op)
		}
		return doc, nil
	case []any:
		n := len(c)
		i := n
		if last != "-" {
			if i, err = strconv.Atoi(last); err != nil || i < 0 || i > n || (op != "add" && i == n) {
				return nil, fmt.Errorf("index %q out of range (length %d)", last, n)
			}
		} else if op != "add" {
			return nil, fmt.Errorf("%q is only valid with add", last)
		}
		var out []any
		switch op {
		case "add":
			out = append(append(append(make([]any, 0, n+1), c[:i]...), val), c[i:]...)
		case "replace":
			c[i] = val
			out = c
		case "remove":
			out = append(append(make([]any, 0, n-1), c[:i]...), c[i+1:]...)
		default:
			return nil, fmt.Errorf("unsupported operation %q", op)
		}
		// A slice grown or shrunk is a new value: store it in its parent.
		return applyOp(doc, "replace", parentPtr, out)
	}
	return nil, fmt.Errorf("parent of %q is neither object nor array", last)
}
