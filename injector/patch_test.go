package injector

import (
	"encoding/json"
	"testing"
)

func TestPatchApply(t *testing.T) {
	tests := []struct {
		name, doc string
		patch     Patch
		want      string
		wantErr   bool
	}{
		{"append", `{"a":[1]}`, Patch{{Op: "add", Path: "/a/-", Value: 2}}, `{"a":[1,2]}`, false},
		{"insert first", `{"a":[1]}`, Patch{{Op: "add", Path: "/a/0", Value: 0}}, `{"a":[0,1]}`, false},
		{"new member", `{}`, Patch{{Op: "add", Path: "/a", Value: []int{1}}}, `{"a":[1]}`, false},
		{"escaped key", `{"m":{}}`, Patch{{Op: "add", Path: "/m/" + escape("x.io/y~z"), Value: "v"}}, `{"m":{"x.io/y~z":"v"}}`, false},
		{"replace", `{"a":[1,2]}`, Patch{{Op: "replace", Path: "/a/1", Value: 3}}, `{"a":[1,3]}`, false},
		{"remove member", `{"a":1,"b":2}`, Patch{{Op: "remove", Path: "/a"}}, `{"b":2}`, false},
		{"remove element", `{"a":[1,2,3]}`, Patch{{Op: "remove", Path: "/a/1"}}, `{"a":[1,3]}`, false},
		{"nested append", `{"s":{"c":[{"v":[]}]}}`, Patch{{Op: "add", Path: "/s/c/0/v/-", Value: "x"}}, `{"s":{"c":[{"v":["x"]}]}}`, false},
		{"missing parent", `{}`, Patch{{Op: "add", Path: "/a/b", Value: 1}}, "", true},
		{"index past end", `{"a":[]}`, Patch{{Op: "add", Path: "/a/2", Value: 1}}, "", true},
		{"replace missing", `{}`, Patch{{Op: "replace", Path: "/a", Value: 1}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			got, err := tt.patch.Apply(doc)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			b, _ := json.Marshal(got)
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
		})
	}
}
