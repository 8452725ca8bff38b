package jsonpatch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// apply decodes doc and patch, applies the patch and returns the result
// as compact JSON.
func apply(t *testing.T, doc, patch string) (string, error) {
	t.Helper()
	p, err := Decode([]byte(patch))
	if err != nil {
		return "", err
	}
	out, err := p.ApplyJSON([]byte(doc))
	return string(out), err
}

// canon re-encodes JSON so that member order does not matter.
func canon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRFC6902Examples runs the examples of RFC 6902's appendix A, and
// the pointer examples of RFC 6901 that involve escapes.
func TestRFC6902Examples(t *testing.T) {
	tests := []patchCase{
		{"A.1 add member", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`, `{"baz":"qux","foo":"bar"}`, ""},
		{"A.2 add element", `{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`, `{"foo":["bar","qux","baz"]}`, ""},
		{"A.3 remove member", `{"baz":"qux","foo":"bar"}`, `[{"op":"remove","path":"/baz"}]`, `{"foo":"bar"}`, ""},
		{"A.4 remove element", `{"foo":["bar","qux","baz"]}`, `[{"op":"remove","path":"/foo/1"}]`, `{"foo":["bar","baz"]}`, ""},
		{"A.5 replace", `{"baz":"qux","foo":"bar"}`, `[{"op":"replace","path":"/baz","value":"boo"}]`, `{"baz":"boo","foo":"bar"}`, ""},
		{"A.6 move member", `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`,
			`[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			`{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`, ""},
		{"A.7 move element", `{"foo":["all","grass","cows","eat"]}`, `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`,
			`{"foo":["all","cows","eat","grass"]}`, ""},
		{"A.8 test success", `{"baz":"qux","foo":["a",2,"c"]}`,
			`[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`,
			`{"baz":"qux","foo":["a",2,"c"]}`, ""},
		{"A.9 test failure", `{"baz":"qux"}`, `[{"op":"test","path":"/baz","value":"bar"}]`, "", "operation 0 (test /baz): test failed"},
		{"A.10 add nested", `{"foo":"bar"}`, `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`,
			`{"foo":"bar","child":{"grandchild":{}}}`, ""},
		{"A.11 unknown members ignored", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`,
			`{"foo":"bar","baz":"qux"}`, ""},
		{"A.12 add to missing parent", `{"foo":"bar"}`, `[{"op":"add","path":"/baz/bat","value":"qux"}]`, "", `/baz: no member "baz"`},
		{"A.14 ~01 is ~1", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":10}]`, `{"/":9,"~1":10}`, ""},
		{"A.15 string is not number", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":"10"}]`, "", "test failed"},
		{"A.16 add array value", `{"foo":["bar"]}`, `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`,
			`{"foo":["bar",["abc","def"]]}`, ""},
		{"6901 ~1 is /", `{"a/b":1,"m~n":8}`, `[{"op":"replace","path":"/a~1b","value":2},{"op":"remove","path":"/m~0n"}]`, `{"a/b":2}`, ""},
		{"6901 empty key", `{"":0}`, `[{"op":"replace","path":"/","value":1}]`, `{"":1}`, ""},
	}
	runCases(t, tests)
}

func TestOperations(t *testing.T) {
	tests := []patchCase{
		{"append with -", `{"a":[1]}`, `[{"op":"add","path":"/a/-","value":2}]`, `{"a":[1,2]}`, ""},
		{"add at length", `{"a":[1]}`, `[{"op":"add","path":"/a/1","value":2}]`, `{"a":[1,2]}`, ""},
		{"add past length", `{"a":[1]}`, `[{"op":"add","path":"/a/2","value":2}]`, "", "index 2 is out of range (the array has 1 elements)"},
		{"add replaces a member", `{"a":1}`, `[{"op":"add","path":"/a","value":2}]`, `{"a":2}`, ""},
		{"add null", `{}`, `[{"op":"add","path":"/a","value":null}]`, `{"a":null}`, ""},
		{"add without value", `{}`, `[{"op":"add","path":"/a"}]`, "", `operation 0 (add /a): no "value"`},
		{"leading zero", `{"a":[1,2]}`, `[{"op":"remove","path":"/a/01"}]`, "", `"01" is not an array index`},
		{"negative index", `{"a":[1,2]}`, `[{"op":"remove","path":"/a/-1"}]`, "", `"-1" is not an array index`},
		{"- only for add", `{"a":[1]}`, `[{"op":"remove","path":"/a/-"}]`, "", `"-" is not an array index`},
		{"huge index", `{"a":[1]}`, `[{"op":"add","path":"/a/99999999999999999999999","value":1}]`, "", "out of range"},
		{"member of a string", `{"a":"s"}`, `[{"op":"add","path":"/a/b","value":1}]`, "", "/a is neither an object nor an array"},
		{"deep member of a number", `{"a":1}`, `[{"op":"add","path":"/a/b/c","value":1}]`, "", "/a/b: /a is neither an object nor an array"},
		{"remove missing", `{}`, `[{"op":"remove","path":"/a"}]`, "", `no member "a" to remove`},
		{"remove root", `{}`, `[{"op":"remove","path":""}]`, "", "cannot remove the whole document"},
		{"replace missing", `{}`, `[{"op":"replace","path":"/a","value":1}]`, "", `no member "a" to replace`},
		{"replace root", `{"a":1}`, `[{"op":"replace","path":"","value":[1]}]`, `[1]`, ""},
		{"add root", `{"a":1}`, `[{"op":"add","path":"","value":{"b":2}}]`, `{"b":2}`, ""},
		{"move to itself", `{"a":1}`, `[{"op":"move","from":"/a","path":"/a"}]`, `{"a":1}`, ""},
		{"move missing", `{}`, `[{"op":"move","from":"/a","path":"/b"}]`, "", `from /a: no member "a"`},
		{"move into child", `{"a":{"b":1}}`, `[{"op":"move","from":"/a","path":"/a/b/c"}]`, "", "cannot move a value into itself"},
		{"move to sibling prefix", `{"a":1,"ab":2}`, `[{"op":"move","from":"/a","path":"/ab"}]`, `{"ab":1}`, ""},
		{"copy", `{"a":{"x":[1]}}`, `[{"op":"copy","from":"/a","path":"/b"},{"op":"add","path":"/b/x/-","value":2}]`,
			`{"a":{"x":[1]},"b":{"x":[1,2]}}`, ""},
		{"copy into itself", `{"a":[1]}`, `[{"op":"copy","from":"/a","path":"/a/-"}]`, `{"a":[1,[1]]}`, ""},
		{"copy without from", `{}`, `[{"op":"copy","path":"/b"}]`, "", `no "from"`},
		{"test numbers", `{"a":1,"b":100,"c":0.5}`,
			`[{"op":"test","path":"/a","value":1.0},{"op":"test","path":"/b","value":1e2},{"op":"test","path":"/c","value":5E-1}]`,
			`{"a":1,"b":100,"c":0.5}`, ""},
		{"test large integers differ", `{"a":9007199254740993}`, `[{"op":"test","path":"/a","value":9007199254740992}]`, "", "test failed"},
		{"test object order", `{"a":{"x":1,"y":[true,null]}}`, `[{"op":"test","path":"/a","value":{"y":[true,null],"x":1}}]`,
			`{"a":{"x":1,"y":[true,null]}}`, ""},
		{"test array order", `{"a":[1,2]}`, `[{"op":"test","path":"/a","value":[2,1]}]`, "", "test failed"},
		{"test null vs missing", `{"a":null}`, `[{"op":"test","path":"/a","value":null}]`, `{"a":null}`, ""},
		{"test huge exponent", `{"a":1}`, `[{"op":"test","path":"/a","value":1e999999999}]`, "", "test failed"},
		{"second op fails", `{}`, `[{"op":"add","path":"/a","value":1},{"op":"remove","path":"/b"}]`, "", "operation 1 (remove /b)"},
		{"unknown op", `{}`, `[{"op":"merge","path":"/a"}]`, "", `operation 0: unknown op "merge"`},
		{"no op", `{}`, `[{"path":"/a"}]`, "", `no "op"`},
		{"op not a string", `{}`, `[{"op":1,"path":"/a"}]`, "", `"op" is not a string`},
		{"bad escape", `{}`, `[{"op":"add","path":"/a~2","value":1}]`, "", "~ must be followed by 0 or 1"},
		{"no leading slash", `{}`, `[{"op":"add","path":"a","value":1}]`, "", "starts with /"},
		{"not an array", `{}`, `{"op":"add","path":"/a","value":1}`, "", "not a JSON patch"},
		{"null patch", `{}`, `null`, "", "null, not an array"},
		{"trailing data", `{}`, `[] []`, "", "data after the array"},
		{"empty patch", `{"a":1}`, `[]`, `{"a":1}`, ""},
	}
	runCases(t, tests)
}

// patchCase is one patch applied to one document: the result wanted, or
// a substring of the error.
type patchCase struct {
	name, doc, patch, want string
	wantErr                string
}

func runCases(t *testing.T, tests []patchCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := apply(t, tt.doc, tt.patch)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q (result %s)", err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != canon(t, tt.want) {
				t.Errorf("got %s, want %s", got, canon(t, tt.want))
			}
		})
	}
}

// TestAllOrNothing: a patch whose last operation fails leaves the
// document as it was, and a result shares nothing with its input.
func TestAllOrNothing(t *testing.T) {
	doc := map[string]any{"a": []any{"x"}, "m": map[string]any{"k": "v"}}
	p, err := Decode([]byte(`[{"op":"add","path":"/a/-","value":"y"},{"op":"remove","path":"/m/k"},{"op":"test","path":"/a/0","value":"no"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply(doc); err == nil {
		t.Fatal("the failing test passed")
	}
	if b, _ := json.Marshal(doc); string(b) != `{"a":["x"],"m":{"k":"v"}}` {
		t.Errorf("the document changed: %s", b)
	}
	out, err := p[:2].Apply(doc)
	if err != nil {
		t.Fatal(err)
	}
	out.(map[string]any)["a"].([]any)[0] = "changed"
	if doc["a"].([]any)[0] != "x" {
		t.Error("the result shares an array with the input")
	}
	// The patch's own values are copied too: applying twice gives two
	// independent documents.
	q, _ := Decode([]byte(`[{"op":"add","path":"/v","value":{"n":[1]}}]`))
	d1, _ := q.Apply(map[string]any{})
	d2, _ := q.Apply(map[string]any{})
	d1.(map[string]any)["v"].(map[string]any)["n"] = "changed"
	if b, _ := json.Marshal(d2); string(b) != `{"v":{"n":[1]}}` {
		t.Errorf("two results share a value: %s", b)
	}
}

// TestErrorsDoNotRepeatValues: a value in the document or the patch may
// be a secret; no error repeats one.
func TestErrorsDoNotRepeatValues(t *testing.T) {
	const secret = "s3cr3t-value-never-printed"
	doc := `{"env":[{"name":"TOKEN","value":"` + secret + `"}]}`
	for _, patch := range []string{
		`[{"op":"test","path":"/env/0/value","value":"` + secret + `x"}]`,
		`[{"op":"test","path":"/env/0","value":{"name":"TOKEN","value":"other"}}]`,
		`[{"op":"add","path":"/env/0/value/x","value":"` + secret + `"}]`,
	} {
		_, err := apply(t, doc, patch)
		if err == nil {
			t.Fatalf("%s applied", patch)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "other") {
			t.Errorf("error repeats a value: %v", err)
		}
	}
}

// TestGrowthBounded: copies that double the document each time stop at
// MaxNodes with an error instead of exhausting memory.
func TestGrowthBounded(t *testing.T) {
	ops := []string{`{"op":"add","path":"/a","value":[0,1,2,3,4,5,6,7]}`}
	for i := 0; i < 40; i++ {
		ops = append(ops, `{"op":"copy","from":"/a","path":"/a/-"}`)
	}
	_, err := apply(t, `{}`, "["+strings.Join(ops, ",")+"]")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "copy" || oe.Index < 10 {
		t.Errorf("error %v does not name the copy that grew past the bound", err)
	}
}

// TestGoValues: a document of other Go types (as the injector builds
// containers) is read through its JSON encoding; operations built in Go
// work without Decode.
func TestGoValues(t *testing.T) {
	doc := map[string]any{"command": []string{"rotor", "agent"}, "n": 3}
	p := Patch{{Op: "add", Path: "/command/-", Value: "-once"}, {Op: "test", Path: "/n", Value: 3.0},
		{Op: "copy", From: "/command/0", Path: "/name"}}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"command":["rotor","agent","-once"],"n":3,"name":"rotor"}` {
		t.Errorf("got %s", b)
	}
	if _, err := (Patch{{Op: "add", Path: "x", Value: 1}}).Apply(doc); err == nil || !strings.Contains(err.Error(), "path: ") {
		t.Errorf("a bad pointer in a Go-built operation: %v", err)
	}
}

func TestPointer(t *testing.T) {
	for _, s := range []string{"", "/", "/a/b", "/a~1b/~0c", "/~01", "//x"} {
		p, err := ParsePointer(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if p.String() != s {
			t.Errorf("%q parsed and written is %q", s, p.String())
		}
	}
	doc := map[string]any{"a/b": []any{map[string]any{"~": 1}}}
	if v, err := Get(doc, "/a~1b/0/~0"); err != nil || v != 1 {
		t.Errorf("Get = %v, %v", v, err)
	}
	if _, err := Get(doc, "/a~1b/1"); err == nil || !strings.Contains(err.Error(), "/a~1b/1: index 1 is out of range") {
		t.Errorf("Get past the end: %v", err)
	}
}
