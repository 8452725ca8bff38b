package template

import (
	"strings"
	"testing"
)

func TestStaticRefs(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string
	}{
		{"seed cert", `{{- with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=72h" -}}{{ .Data.certificate }}{{- end -}}`,
			[]string{"write:pki_int/issue/web-servers common_name=api.internal.example.com ttl=72h"}},
		{"kv read", `{{ (secret "secret/app").Data.data.x }}`, []string{"read:secret/app"}},
		{"list and pki", `{{ range secrets "secret/metadata/" }}{{ . }}{{ end }}{{ with pkiCert "pki/issue/r" "common_name=a.example.com" }}{{ .Cert }}{{ end }}`,
			[]string{"list:secret/metadata", "write:pki/issue/r common_name=a.example.com"}},
		{"conditional body is not prefetched", `{{ if env "X" }}{{ secret "database/creds/r" }}{{ end }}`, nil},
		{"computed path is not prefetched", `{{ secret (printf "kv/%s" "a") }}`, nil},
		{"nested with", `{{ with secret "a" }}{{ with secret "b" }}{{ end }}{{ end }}`, []string{"read:a"}},
	}
	for _, c := range cases {
		refs, err := staticRefs("t", c.text, "", "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, r := range refs {
			got = append(got, r.Key())
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q want %q", c.name, got, c.want)
		}
	}
	if _, err := staticRefs("t", `{{ with secret "x" }}{{ .Data }`, "", ""); err == nil {
		t.Fatal("syntax error not reported")
	}
}
