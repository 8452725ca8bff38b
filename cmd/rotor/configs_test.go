package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ready-to-use files under configs/ must stay valid: every HCL file,
// and the rotor.hcl inside each Kubernetes ConfigMap.
func TestShippedConfigsValidate(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*/*.hcl")
	files = append(files, "../../configs/agent.hcl")
	yamls, _ := filepath.Glob("../../configs/kubernetes/*.yaml")
	for _, y := range yamls {
		hcl := configMapEntry(t, y, "rotor.hcl")
		p := filepath.Join(t.TempDir(), filepath.Base(y)+".hcl")
		os.WriteFile(p, []byte(hcl), 0o600)
		files = append(files, p)
	}
	if len(files) < 5 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		var out, errb bytes.Buffer
		if code := run([]string{"validate", "-config", f}, &out, &errb); code != 0 {
			t.Errorf("%s does not validate:\n%s%s", f, out.String(), errb.String())
		}
	}
}

// configMapEntry returns a `key: |` block of a ConfigMap, unindented.
func configMapEntry(t *testing.T, path, key string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in, indent := false, ""
	for _, line := range strings.Split(string(b), "\n") {
		if !in {
			if strings.TrimSpace(line) == key+": |" {
				in = true
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			out = append(out, "")
			continue
		}
		if indent == "" {
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
		}
		if !strings.HasPrefix(line, indent) {
			break
		}
		out = append(out, strings.TrimPrefix(line, indent))
	}
	if len(out) == 0 {
		t.Fatalf("%s has no %s entry", path, key)
	}
	return strings.Join(out, "\n")
}
