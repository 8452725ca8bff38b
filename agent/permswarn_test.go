package agent

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/agent/config"
)

// A template that renders a password or a private key without perms is
// pointed out when the agent starts (in its log), not only by rotor
// validate: a migrated config is mostly started, not validated.
func TestUnsetPermsWarningAtStart(t *testing.T) {
	pw := `{{ with secret "database/creds/app" }}{{ .Data.password }}{{ end }}`
	for _, c := range []struct {
		perms os.FileMode
		warn  bool
	}{{0, true}, {0o600, false}} {
		var logs bytes.Buffer
		cfg := &config.Config{Vault: config.Vault{Address: "http://127.0.0.1:8200"}, Token: "t",
			Templates: []*config.Template{{Contents: pw, Destination: "/tmp/x/db.conf", Perms: c.perms}}}
		if _, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "no perms set") &&
			strings.Contains(logs.String(), "/tmp/x/db.conf")
		if got != c.warn {
			t.Errorf("perms %04o: warned %v, want %v:\n%s", c.perms, got, c.warn, logs.String())
		}
	}
}
