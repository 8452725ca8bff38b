package template

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/vaulterr"
	"github.com/rotorproject/rotor/lease"
)

// vaultAnswers are the answers of faultVault, by secret name: a status
// and Vault's error list.
var vaultAnswers = map[string]struct {
	status int
	errors []string
}{
	"a": {403, []string{"1 error occurred:\n\t* permission denied\n\n"}},
	"b": {404, nil},
	"c": {400, []string{"invalid request: missing client token"}},
	"d": {503, []string{"Vault is sealed, try again later"}},
	"e": {429, []string{"request path kv/e: rate limit quota exceeded"}},
}

// faultVault answers kv/<name> as vaultAnswers says, everything else
// (mount lookups) with 404, and lookup-self as a live token.
func faultVault() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/auth/token/lookup-self" {
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"accessor": "acc", "ttl": 3600}})
			return
		}
		a, ok := vaultAnswers[strings.TrimPrefix(r.URL.Path, "/v1/kv/")]
		if !ok {
			w.WriteHeader(404)
			json.NewEncoder(w).Encode(map[string]any{"errors": []string{}})
			return
		}
		if a.status == 429 {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(a.status)
		json.NewEncoder(w).Encode(map[string]any{"errors": a.errors})
	})
}

// Each failure's class, as status and logs show it, comes from the
// error's type: the Vault answer behind a failed read, or the step of the
// template that failed. Redaction that hides every word of the text
// changes none of it.
func TestFailureClassesByType(t *testing.T) {
	srv := httptest.NewServer(faultVault())
	defer srv.Close()
	c, err := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))

	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	type want struct {
		class    string
		line     int
		function string
	}
	cases := map[string]want{
		`{{ with secret "kv/a" }}{{ .Data.v }}{{ end }}`: {class: "vault_denied"},
		`{{ with secret "kv/b" }}{{ .Data.v }}{{ end }}`: {class: "secret_not_found"},
		`{{ with secret "kv/c" }}{{ .Data.v }}{{ end }}`: {class: "invalid_request"},
		`{{ with secret "kv/d" }}{{ .Data.v }}{{ end }}`: {class: "vault_unavailable"},
		`{{ with secret "kv/e" }}{{ .Data.v }}{{ end }}`: {class: "rate_limited"},
		"x\n{{ mustEnv \"ROTOR_TEST_NEVER_SET\" }}":      {class: "template_execute", line: 2, function: "mustEnv"},
		"x\n{{ parseInt \"0x\" }}":                       {class: "template_execute", line: 2, function: "parseInt"},
	}
	var specs []Spec
	byDest := map[string]want{}
	i := 0
	for text, w := range cases {
		i++
		dest := filepath.Join(dir, string(rune('a'+i)))
		specs = append(specs, Spec{Contents: text, Destination: dest, Perms: 0o600})
		byDest[dest] = w
	}
	// Rendered, but its directory is a file: not written.
	publish := filepath.Join(notDir, "out")
	specs = append(specs, Spec{Contents: "ok", Destination: publish, Perms: 0o600})
	byDest[publish] = want{class: "publish_failed"}

	// Every word of every error: what a redaction that missed nothing
	// would hide. (Each piece is at least redact.Window bytes.)
	hide := []string{"Error making API request.", "no secret at this path", "URL: GET " + srv.URL + "/v1/kv/",
		"required environment variable ROTOR_TEST_NEVER_SET is empty", `strconv.ParseInt: parsing "0x": invalid syntax`}
	for _, a := range vaultAnswers {
		hide = append(hide, a.errors...)
	}
	for _, code := range []string{"400", "403", "404", "429", "503"} {
		hide = append(hide, "Code: "+code+". Errors:")
	}
	var logs syncBuf
	r, err := New(specs, nil, Options{Store: store, Once: true, MaxRetries: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Secrets: func() *redact.Set { return redact.New(slices.Values(hide)) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	go store.Run(ctx)
	if err := r.Run(ctx); err == nil {
		t.Fatal("Run succeeded with every template failing")
	}
	for _, st := range r.Status() {
		w := byDest[st.Name]
		if st.ErrorClass != w.class || st.ErrorLine != w.line || st.ErrorFunction != w.function {
			t.Errorf("%s: class %q line %d function %q, want %+v (error %q)", st.Name, st.ErrorClass, st.ErrorLine, st.ErrorFunction, w, st.LastError)
		}
		for _, word := range []string{"Code", "403", "404", "sealed", "denied", "rate limit", "ParseInt"} {
			if strings.Contains(st.LastError, word) {
				t.Errorf("%s: %q survived redaction in %q; the test proves nothing", st.Name, word, st.LastError)
			}
		}
		if !strings.Contains(logs.String(), "error_class="+w.class) {
			t.Errorf("the log has no error_class=%s", w.class)
		}
	}
}

// A template that does not parse is refused at start with a typed error
// of kind parse, located.
func TestParseErrorsAreTyped(t *testing.T) {
	for text, want := range map[string]Error{
		"a\nb\n{{ if }}":                 {Kind: KindParse, Line: 3},
		"{{ nosuchfunction 1 }}":         {Kind: KindParse, Line: 1},
		"\n{{ secret }}":                 {Kind: KindParse, Line: 2, Function: "secret"},
		"{{ sprig_b64enc \"a\" \"b\" }}": {Kind: KindParse, Line: 1, Function: "sprig_b64enc"},
	} {
		_, err := Check(Spec{Contents: text, Destination: "/x"})
		var e *Error
		if !errors.As(err, &e) || e.Kind != want.Kind || e.Line != want.Line || e.Function != want.Function {
			t.Errorf("%q: %#v, want %+v", text, e, want)
			continue
		}
		if e.Class() != "template_parse" {
			t.Errorf("%q: class %q", text, e.Class())
		}
	}
}

// asError keeps a Vault read's class under any wrapping and names only
// known functions; an error with no position states none.
func TestAsError(t *testing.T) {
	denied := vaulterr.WithClass(errors.New("Code: 403"), vaulterr.Denied)
	for _, c := range []struct {
		err  error
		kind Kind
		want Error
		cls  string
	}{
		{denied, KindExecute, Error{Kind: KindExecute}, "vault_denied"},
		{errors.New("write /etc/x: permission denied"), KindPublish, Error{Kind: KindPublish}, "publish_failed"},
		{errors.New("template: :3:14: executing \"\" at <x>: error calling secret: boom"), KindExecute, Error{Kind: KindExecute}, "template_execute"},
	} {
		e := asError(c.kind, c.err)
		if e.Kind != c.want.Kind || e.Line != 0 || e.Function != "" || e.Class() != c.cls {
			t.Errorf("%q: %+v class %q, want %+v %q", c.err, e, e.Class(), c.want, c.cls)
		}
	}
	if fn := calledFunction(`at <hunter2 .>: error calling hunter2: boom`); fn != "" {
		t.Errorf("an unknown function name was copied: %q", fn)
	}
	for text, line := range map[string]int{"template: n:12: x": 12, "template: n:x: y": 0, "template: m:3: x": 0, "template: n:1234567: x": 0} {
		if got, _ := position(text, "n", false); got != line {
			t.Errorf("position(%q) = %d, want %d", text, got, line)
		}
	}
}
