package template

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	ctemplate "github.com/hashicorp/consul-template/template"
	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/lease"
)

// kvStore is a store holding kv/pem, kv/json and kv/pw (leakSecrets).
func kvStore(t testing.TB) *lease.Store {
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	c, err := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	var refs []lease.Ref
	for name := range leakSecrets {
		refs = append(refs, lease.Ref{Kind: lease.KindRead, Path: "kv/" + name})
	}
	for k, err := range store.Fetch(t.Context(), refs) {
		t.Fatalf("%s: %v", k, err)
	}
	return store
}

// byConsulTemplate executes tm's text the way rotor did before it ran its
// own parse: through consul-template's Execute, with rotor's functions.
func byConsulTemplate(t testing.TB, tm *tmpl, text string, store *lease.Store) result {
	ct, err := ctemplate.NewTemplate(&ctemplate.NewTemplateInput{Contents: text, Destination: tm.cfg.Destination,
		ErrMissingKey: tm.cfg.ErrorOnMissingKey, LeftDelim: tm.cfg.LeftDelim, RightDelim: tm.cfg.RightDelim,
		SandboxPath: tm.cfg.SandboxPath, FunctionDenylist: tm.cfg.FunctionDenylist, ExtFuncMap: tm.funcMap()})
	if err != nil {
		t.Fatal(err)
	}
	tm.rec.store = store
	tm.rec.reset()
	res, err := ct.Execute(&ctemplate.ExecuteInput{Brain: ctemplate.NewBrain()})
	if err != nil {
		return result{err: err, missing: tm.rec.missing}
	}
	return result{out: res.Output, missing: tm.rec.missing}
}

// rotor executes a template with the functions it calls itself, unless it
// needs one of consul-template's private helpers; either way the output
// and the error text are exactly what consul-template's Execute gives.
func TestOwnExecutionMatchesConsulTemplate(t *testing.T) {
	store := kvStore(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte("file content\n"), 0o600)
	t.Setenv("ROTOR_EXEC_TEST", "set")
	t.Setenv("ROTOR_EXEC_EMPTY", "")
	cases := []struct {
		spec Spec
		own  bool // rotor executes it itself
	}{
		{Spec{Contents: `{{ with secret "kv/pw" }}{{ .Data.v }}{{ end }}`}, true},
		{Spec{Contents: `{{ with secret "kv/missing" }}{{ .Data.v }}{{ else }}none{{ end }}`}, true},
		{Spec{Contents: `{{ with secret "kv/json" }}{{ .Data.nope }}|{{ .Data.v | printf "%q" }}{{ end }}`}, true},
		{Spec{Contents: `{{ with secret "kv/json" }}{{ .Data.nope }}{{ end }}`, ErrorOnMissingKey: true}, true},
		{Spec{Contents: `{{ (secret "kv/pem").Data.v }}{{ .Top }}`}, true},
		{Spec{Contents: `{{ index (secret "kv/pw").Data "v" | len }} {{ eq 1 1 }} {{ and 1 0 }} {{ slice "abcdef" 1 3 }}`}, true},
		{Spec{Contents: `{{ range $k, $v := (secret "kv/pw").Data }}{{ $k }}={{ $v }};{{ end }}`}, true},
		{Spec{Contents: `{{ define "x" }}[{{ (secret "kv/pw").Data.v }}]{{ end }}{{ template "x" }}{{ template "x" . }}`}, true},
		{Spec{Contents: `{{ define "y" }}{{ sprig_upper . }}{{ end }}{{ template "y" "abc" }}{{ template "nope" }}`}, true},
		{Spec{Contents: `<< with secret "kv/pw" >><< .Data.v >><< end >>{{ not delimiters }}`, LeftDelim: "<<", RightDelim: ">>"}, true},
		{Spec{Contents: `{{ scratch.Set "a" "1" }}{{ scratch.Get "a" }}{{ if scratch.Key "b" }}stale{{ end }}{{ scratch.Set "b" 2 }}`}, true},
		{Spec{Contents: `{{ env "ROTOR_EXEC_TEST" }}|{{ env "ROTOR_EXEC_UNSET" }}|{{ envOrDefault "ROTOR_EXEC_EMPTY" "d" }}|{{ envOrDefault "ROTOR_EXEC_UNSET" "d" }}`}, true},
		{Spec{Contents: `{{ mustEnv "ROTOR_EXEC_TEST" }}{{ mustEnv "ROTOR_EXEC_EMPTY" }}`}, true},
		{Spec{Contents: `{{ env 1 }}`}, true},
		{Spec{Contents: `{{ sprig_upper "x" }}{{ "a" | sprig_repeat 2 }}{{ sprig_fail "boom" }}`}, true},
		{Spec{Contents: `{{ key "a/b" }}`}, true},
		{Spec{Contents: `{{ secrets "kv/" }}{{ with secret "kv/pw" "x=y" }}{{ . }}{{ end }}`}, true},
		{Spec{Contents: `{{ file "` + in + `" }}{{ file "` + filepath.Join(dir, "nope") + `" }}`}, true},
		{Spec{Contents: `{{ file "` + in + `" }}`, SandboxPath: filepath.Join(dir, "sub")}, true},
		{Spec{Contents: `{{ index .Nil 1 }}`}, true},
		{Spec{Contents: `{{ sprig_upper "x" }}`, FunctionDenylist: []string{"sprig_*"}}, false},
		{Spec{Contents: `{{ len "abc" }}{{ env "HOME" }}`, FunctionDenylist: []string{"*"}}, false},
		{Spec{Contents: `{{ (secret "kv/json").Data.v | parseJSON | toJSON }}`}, false},
		{Spec{Contents: `{{ define "z" }}{{ toUpper "x" }}{{ end }}{{ secret "kv/pw" }}`}, false},
		{Spec{Contents: `{{ executeTemplate "w" }}{{ define "w" }}w{{ end }}`}, false},
	}
	for _, c := range cases {
		c.spec.Destination = filepath.Join(dir, "out")
		c.spec.MaxBytes = DefaultMaxBytes
		tm, err := newTmpl(&c.spec, "t")
		if err != nil {
			t.Fatalf("%s: %v", c.spec.Contents, err)
		}
		if (tm.exec != nil) != c.own {
			t.Errorf("%s: rotor executes it itself: %v, want %v", c.spec.Contents, tm.exec != nil, c.own)
		}
		// Twice: nothing (scratch) carries over from one execution to the next.
		for range 2 {
			got, want := tm.execute(store), byConsulTemplate(t, tm, c.spec.Contents, store)
			if string(got.out) != string(want.out) || errText(got.err) != errText(want.err) || len(got.missing) != len(want.missing) {
				t.Errorf("%s:\n rotor           %q, %q, %d missing\n consul-template %q, %q, %d missing",
					c.spec.Contents, got.out, errText(got.err), len(got.missing), want.out, errText(want.err), len(want.missing))
			}
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
