package jsonpatch

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzApply feeds arbitrary documents and patches (what a pod annotation
// may hold) to Decode and Apply: neither may panic, an error leaves the
// document as it was, a result is valid JSON, and a patch that applied
// applies again to the same document with the same result.
func FuzzApply(f *testing.F) {
	seeds := [][2]string{
		{`{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`},
		{`{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"},{"op":"remove","path":"/foo/0"}]`},
		{`{"a":{"b":1}}`, `[{"op":"move","from":"/a/b","path":"/c"},{"op":"test","path":"/c","value":1.0}]`},
		{`{"a":[1]}`, `[{"op":"copy","from":"/a","path":"/a/-"},{"op":"copy","from":"/a","path":"/a/0"}]`},
		{`{"~1":{"/":[]}}`, `[{"op":"add","path":"/~01/~1/-","value":null},{"op":"replace","path":"","value":[]}]`},
		{`[]`, `[{"op":"add","path":"/-","value":{"x":1e999}},{"op":"test","path":"/0/x","value":10e998}]`},
		{`{"name":"rotor-agent","restartPolicy":"Always","env":[{"name":"A","value":"1"}],"resources":{"limits":{"cpu":"200m"}}}`,
			`[{"op":"add","path":"/env/-","value":{"name":"B","value":"2"}},{"op":"replace","path":"/resources/limits/cpu","value":"1"},{"op":"remove","path":"/restartPolicy"}]`},
		{`{}`, `[{"op":"remove","path":""}]`},
		{`{"a":[0]}`, `[{"op":"add","path":"/a/00","value":1},{"op":"move","from":"/a","path":"/a/0"}]`},
		{`1`, `[{"op":"add","path":"/a","value":1}]`},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, docJSON, patchJSON []byte) {
		p, err := Decode(patchJSON)
		if err != nil {
			return
		}
		var doc any
		d := json.NewDecoder(bytes.NewReader(docJSON))
		d.UseNumber()
		if d.Decode(&doc) != nil {
			return
		}
		before, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Apply(doc)
		after, _ := json.Marshal(doc)
		if !bytes.Equal(before, after) {
			t.Fatalf("Apply changed its input: %s -> %s", before, after)
		}
		if err != nil {
			return
		}
		b1, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("the result is not JSON: %v", err)
		}
		out2, err := p.Apply(doc)
		if err != nil {
			t.Fatalf("second application failed: %v", err)
		}
		if b2, _ := json.Marshal(out2); !bytes.Equal(b1, b2) {
			t.Fatalf("two applications differ: %s and %s", b1, b2)
		}
	})
}
