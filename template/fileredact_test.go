package template

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/redact"
)

// What the file function reads may be a secret (a key, a password file):
// it is redacted from render errors, the template's status, and reload
// command output, as Vault's secrets are.
func TestFileContentsAreRedacted(t *testing.T) {
	dir := t.TempDir()
	in, bad, out := filepath.Join(dir, "secret.txt"), filepath.Join(dir, "bad.txt"), filepath.Join(dir, "out.txt")
	const secret = "file-secret-0123456789-abcdefghij-KLMNOP"
	os.WriteFile(in, []byte(secret), 0o600)
	specs := []Spec{
		{Contents: `{{ file "` + in + `" | parseInt }}`, Destination: bad, Perms: 0o600},
		{Contents: `{{ file "` + in + `" }}`, Destination: out, Perms: 0o600,
			Command: command.Command{Shell: "cat " + in + "; exit 3"}},
	}
	r, logs := liveRunner(t, specs, Options{})
	eventually(t, "the render failure and the command failure logged", func() error {
		l := logs.String()
		if !strings.Contains(l, "template render failed") || !strings.Contains(l, "reload command failed") {
			return errors.New("not yet")
		}
		return nil
	})
	var status strings.Builder
	for _, s := range r.Status() {
		status.WriteString(s.LastError)
	}
	for what, text := range map[string]string{"logs": logs.String(), "status": status.String()} {
		for i := 0; i+redact.Window <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+redact.Window]) {
				t.Fatalf("%s show the file's content %q:\n%s", what, secret[i:i+redact.Window], text)
			}
		}
	}
}
