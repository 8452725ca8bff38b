package agent

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// The wrapper forms Vault Agent honours are used, not only parsed: the
// sink inside auto_auth { sinks { } } receives the token, and the template
// inside templates { } is rendered, against a real Vault.
func TestWrapperFormsSinkAndTemplateAreUsed(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"password": "wrapped-one"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sink, out := filepath.Join(dir, "token"), filepath.Join(dir, "app.txt")
	auth := appRoleAuth(t, root, `path "secret/data/app" { capabilities = ["read"] }`, nil)
	auth = strings.TrimSuffix(strings.TrimSpace(auth), "}") + fmt.Sprintf(`
  sinks {
    sink {
      type   = "file"
      config = { path = %q }
    }
  }
}
templates {
  template {
    contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.password }}{{ end }}"
    destination = %q
  }
}
`, sink, out)
	startAgent(t, srv, auth)
	waitContent(t, out, func(s string) bool { return s == "wrapped-one" }, 20*time.Second)
	tok := waitContent(t, sink, func(s string) bool { return s != "" }, 5*time.Second)
	if _, err := lookup(t, root, tok); err != nil {
		t.Fatalf("the sink inside sinks {} holds no valid token: %v", err)
	}
}
