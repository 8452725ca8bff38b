package agent

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// rotor's own login credentials are hidden like the secrets it holds: a
// reload command that prints the role_id and secret_id files has them
// redacted from its logged output.
func TestLoginCredentialsNeverReachTheLogs(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir := t.TempDir()
	roleFile := writeFile(t, dir, "role_id", roleID)
	secretFile := writeFile(t, dir, "secret_id", secretID)
	out := filepath.Join(dir, "out.txt")
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
template {
  contents    = "x"
  destination = %q
  perms       = "0600"
  command     = "cat %s %s; exit 1"
}`, roleFile, secretFile, out, roleFile, secretFile))
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "reload command failed") {
			return fmt.Errorf("no command failure logged yet")
		}
		return nil
	})
	logs := r.logs.String()
	for name, v := range map[string]string{"role_id": roleID, "secret_id": secretID} {
		for i := 0; i+redact.Window <= len(v); i++ {
			if strings.Contains(logs, v[i:i+redact.Window]) {
				t.Fatalf("the %s appears in the logs:\n%s", name, logs)
			}
		}
	}
}
