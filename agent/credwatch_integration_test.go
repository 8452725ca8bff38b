package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// A replaced token file is used at once (token_file), and a new secret_id
// file ends a login's backoff at once instead of after it (approle).
func TestReplacedCredentialFilesAreUsedAtOnce(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	mk := func() string {
		sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		return sec.Auth.ClientToken
	}
	dir := t.TempDir()
	tokFile, sink := filepath.Join(dir, "token"), filepath.Join(dir, "sink")
	first, second := mk(), mk()
	writeFile(t, dir, "token", first)
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "token_file" {
    config = { token_file_path = %q }
  }
  sink "file" { config = { path = %q } }
}`, tokFile, sink))
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if readSink(t, sink) != first {
			return errors.New("first token not in the sink")
		}
		return nil
	})
	os.WriteFile(tokFile+".new", []byte(second), 0o600)
	os.Rename(tokFile+".new", tokFile)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if readSink(t, sink) != second {
			return errors.New("the replaced token file is not used")
		}
		return nil
	})

	// approle with a wrong secret_id and a long backoff: a new secret_id
	// file is tried at once.
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir2 := t.TempDir()
	roleFile := writeFile(t, dir2, "role_id", roleID)
	secretFile := writeFile(t, dir2, "secret_id", "not-the-secret-id")
	sink2 := filepath.Join(dir2, "sink")
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    min_backoff = "2m"
    max_backoff = "5m"
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" { config = { path = %q } }
}`, roleFile, secretFile, sink2))
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "login failed") {
			return errors.New("no failed login yet")
		}
		return nil
	})
	os.WriteFile(secretFile, []byte(secretID), 0o600)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if _, err := os.Stat(sink2); err != nil {
			return errors.New("not logged in yet")
		}
		return nil
	})
}
