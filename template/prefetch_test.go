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
		tree, err := parseTemplate("t", c.text, "", "")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		refs := staticRefs(tree)
		var got []string
		for _, r := range refs {
			got = append(got, r.Key())
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q want %q", c.name, got, c.want)
		}
	}
	if _, err := parseTemplate("t", `{{ with secret "x" }}{{ .Data }`, "", ""); err == nil {
		t.Fatal("syntax error not reported")
	}
}

// Templates are parsed with every function name rotor and consul-template
// know: a typo'd function is reported with its line at start, and so is
// a call of one of rotor's functions with an impossible argument count.
func TestCheckNamesAndArity(t *testing.T) {
	cases := []struct {
		text, wantErr string
	}{
		{`{{ toJSON (secret "kv/a").Data }}{{ sprig_upper "x" }}{{ "a" | sprig_repeat 2 }}`, ""},
		{"line1\n{{ secert \"kv/a\" }}", `function "secert" not defined`},
		{"{{ with secret }}{{ end }}", "secret takes at least 1 argument(s), 0 given"},
		{"\n\n{{ file \"a\" \"b\" }}", "line 3: file takes 1 argument(s), 2 given"},
		{`{{ sprig_repeat 2 }}`, "sprig_repeat takes 2 argument(s), 1 given"},
	}
	for _, c := range cases {
		_, err := Check(Spec{Contents: c.text, Destination: "/x"})
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", c.text, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%q: error %v, want %q", c.text, err, c.wantErr)
		}
	}
	w, err := Check(Spec{Contents: `{{ plugin "/bin/true" }}{{ writeToFile "/tmp/x" "y" "" "0644" }}`, Destination: "/x"})
	if err != nil || len(w) != 2 || !strings.Contains(w[0], "plugin runs a command") {
		t.Errorf("side-effect warnings: %q %v", w, err)
	}
	w, _ = Check(Spec{Contents: `{{ plugin "/bin/true" }}`, Destination: "/x", FunctionDenylist: []string{"plug*"}})
	if len(w) != 0 {
		t.Errorf("a denylisted function is still warned about: %q", w)
	}
}

// A template that renders a private key or a password without perms is
// pointed out: its default mode lets other users read it.
func TestCheckWarnsAboutSecretsWithoutPerms(t *testing.T) {
	key := `{{ with pkiCert "pki/issue/r" "common_name=a" }}{{ .Key }}{{ end }}`
	pw := `{{ with secret "database/creds/r" }}{{ .Data.password }}{{ end }}`
	for _, c := range []struct {
		text  string
		unset bool
		warn  bool
	}{{key, true, true}, {pw, true, true}, {key, false, false}, {`{{ with secret "database/creds/r" }}{{ .Data.username }}{{ end }}`, true, false}} {
		w, err := Check(Spec{Contents: c.text, Destination: "/x", Perms: 0o644, PermsUnset: c.unset})
		got := err == nil && len(w) == 1 && strings.Contains(w[0], "no perms set")
		if got != c.warn || (!c.warn && len(w) != 0) {
			t.Errorf("%q (perms unset %v): warnings %q, err %v", c.text, c.unset, w, err)
		}
	}
}
