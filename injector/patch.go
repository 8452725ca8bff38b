package injector

import (
	"fmt"

	"github.com/rotorproject/rotor/internal/jsonpatch"
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
func escape(key string) string { return jsonpatch.Escape(key) }

// lookup returns the value at pointer in a decoded JSON document.
func lookup(doc any, pointer string) (any, error) { return jsonpatch.Get(doc, pointer) }

// Apply applies the patch to a decoded JSON document (maps, slices and
// scalars as encoding/json decodes them) and returns the new document;
// doc is left as it was. It is the same operation the API server performs
// on the webhook's answer; `rotor injector render` uses it, and the tests
// check patches with it.
func (p Patch) Apply(doc any) (any, error) {
	ops := make(jsonpatch.Patch, len(p))
	for i, op := range p {
		if op.Op != "remove" && op.Value == nil {
			// omitempty drops a nil value: the API server would see none.
			return nil, fmt.Errorf("patch operation %d (%s %s): no value", i, op.Op, op.Path)
		}
		ops[i] = jsonpatch.Operation{Op: op.Op, Path: op.Path, Value: op.Value}
	}
	return ops.Apply(doc)
}
