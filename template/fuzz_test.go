package template

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FuzzCheck feeds arbitrary template text to the checker validate uses:
// it must never panic or hang, and it must never execute anything: the
// seeds that would run a command or write a file aim at a canary path,
// which must not exist after any input.
func FuzzCheck(f *testing.F) {
	canary := filepath.Join(os.TempDir(), "rotor-fuzzcheck-canary-"+strconv.Itoa(os.Getpid()))
	os.Remove(canary)
	f.Cleanup(func() { os.Remove(canary) })
	for _, s := range []string{
		`{{ plugin "/usr/bin/touch" "` + canary + `" }}`,
		`{{ writeToFile "` + canary + `" "y" "" "0644" }}`,
		`{{ with secret "database/creds/r" }}{{ .Data.username }}{{ end }}`,
		`{{ range secrets "secret/metadata/" }}{{ . }}{{ end }}`,
		`{{- with pkiCert "pki/issue/r" "common_name=a" "ttl=1h" -}}{{ .Cert }}{{ .Key }}{{ end }}`,
		`{{ define "x" }}{{ template "x" . }}{{ end }}{{ template "x" }}`,
		`{{ plugin "/bin/true" }}{{ writeToFile "/tmp/x" "y" "" "0644" }}`,
		`{{ (secret "kv/a").Data.data.x | toJSON | base64Encode | sprig_upper }}`,
		`{{ if eq 1 2 }}{{ else if true }}{{ end }}{{ $x := 1 }}{{ $x }}`,
		"{{", "}}", "{{ }}", "{{ secret }}", "{{ .Data.password }}",
	} {
		f.Add(s, "", "")
	}
	f.Add(`<< secret "a" >>`, "<<", ">>")
	f.Fuzz(func(t *testing.T, text, left, right string) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			Check(Spec{Contents: text, LeftDelim: left, RightDelim: right, Destination: "/nonexistent/x", PermsUnset: true})
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Check hangs on %q", text)
		}
		if _, err := os.Lstat(canary); err == nil {
			t.Fatalf("Check executed %q: %s exists", text, canary)
		}
	})
}
