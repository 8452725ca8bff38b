package template

import (
	"testing"
	"time"
)

// FuzzCheck feeds arbitrary template text to the checker validate uses:
// it must never panic or hang, and it must never execute anything (it has
// no store to execute against; a panic or a side effect would show here).
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
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
	})
}
