package agent

import (
	"encoding/json"
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

// checkSinkToken waits for the sink, checks its mode and that the token works.
func checkSinkToken(t *testing.T, srv *vaulttest.Server, path string, mode os.FileMode) string {
	t.Helper()
	tok := readSink(t, path)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Fatalf("sink mode %v, want %v", st.Mode().Perm(), mode)
	}
	if _, err := srv.NewClient(t, tok).Auth().Token().LookupSelf(); err != nil {
		t.Fatalf("the sink's token does not work: %v", err)
	}
	return tok
}

func TestAppRoleLoginRenewAndSinks(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": "6s", "token_max_ttl": "1h"})
	dir := t.TempDir()
	roleFile := writeFile(t, dir, "role_id", roleID)
	secretFile := writeFile(t, dir, "secret_id", secretID)
	sinkA, sinkB := filepath.Join(dir, "a", "token"), filepath.Join(dir, "token-b")
	os.MkdirAll(filepath.Dir(sinkA), 0o755)
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  sink "file" { config = { path = %q } }
  sink "file" { config = { path = %q, mode = "0600" } }
}`, roleFile, secretFile, sinkA, sinkB))
	tok := checkSinkToken(t, srv, sinkA, 0o640)
	if b := checkSinkToken(t, srv, sinkB, 0o600); b != tok {
		t.Fatal("the two sinks hold different tokens")
	}
	if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
		t.Fatalf("secret_id file not removed after reading: %v", err)
	}
	// Renewal: within the 6s TTL the token is renewed (last_renewal_time
	// set) and stays the same token.
	vaulttest.Eventually(t, 15*time.Second, func() error {
		s, err := lookup(t, root, tok)
		if err != nil {
			return err
		}
		if s.Data["last_renewal_time"] == nil {
			return errors.New("not renewed yet")
		}
		return nil
	})
	if got := readSink(t, sinkA); got != tok {
		t.Fatal("renewal must not change the token")
	}
}

func TestAppRoleWrappedSecretID(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, _ := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	wrapped := vaulttest.WrappedSecretID(t, root, "approle", "app", "5m")
	dir := t.TempDir()
	sink := filepath.Join(dir, "sink")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      secret_id_response_wrapping_path = "auth/approle/role/app/secret-id"
    }
  }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", wrapped), sink))
	checkSinkToken(t, srv, sink, 0o640)
}

// A wrapped secret_id that was already unwrapped is refused by Vault with
// a 400: rotor logs the login failure as invalid_request (by the type of
// Vault's answer), not as a transient failure of Vault.
func TestAppRoleUsedWrappedSecretIDIsInvalidRequest(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, _ := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	wrapped := vaulttest.WrappedSecretID(t, root, "approle", "app", "5m")
	if _, err := root.Logical().Unwrap(wrapped); err != nil { // someone else used it
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      secret_id_response_wrapping_path = "auth/approle/role/app/secret-id"
    }
  }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", wrapped), filepath.Join(dir, "sink")))
	vaulttest.Eventually(t, 15*time.Second, func() error {
		for _, line := range strings.Split(r.logs.String(), "\n") {
			if strings.Contains(line, `msg="login failed"`) {
				if !strings.Contains(line, "error_class=invalid_request") {
					t.Fatalf("login failure classified as something else: %s", line)
				}
				return nil
			}
		}
		return errors.New("no login failure logged yet")
	})
}

func TestKubernetesLogin(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	kube := vaulttest.SetupKubernetes(t, root, "kubernetes", "web-server", "app", "default", "1h")
	dir := t.TempDir()
	tokenPath := writeFile(t, dir, "sa-token", kube.NewToken("default", "app"))
	sink := filepath.Join(dir, "sink")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "kubernetes" {
    mount_path = "auth/kubernetes"
    config = {
      role       = "web-server"
      token_path = %q
    }
  }
  sink "file" { config = { path = %q } }
}`, tokenPath, sink))
	checkSinkToken(t, srv, sink, 0o640)
}

func TestJWTLogin(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	iss := vaulttest.SetupJWT(t, root, "jwt", "ci", "rotor-test", "1h")
	dir := t.TempDir()
	jwtPath := writeFile(t, dir, "jwt", iss.Token(t, "pipeline-42", time.Hour))
	sink := filepath.Join(dir, "sink")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "jwt" {
    config = {
      path = %q
      role = "ci"
    }
  }
  sink "file" { config = { path = %q } }
}`, jwtPath, sink))
	checkSinkToken(t, srv, sink, 0o640)
	if _, err := os.Stat(jwtPath); !os.IsNotExist(err) {
		t.Fatalf("JWT file not removed after reading: %v", err)
	}
}

func TestCertLogin(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.WithTLS())
	root := srv.Client(t)
	ca, client := vaulttest.NewClientCert(t, "rotor-test-client")
	vaulttest.SetupCert(t, root, "cert", "web", ca.CertPEM, "1h")
	sink := filepath.Join(t.TempDir(), "token")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "cert" {
    config = {
      name        = "web"
      client_cert = %q
      client_key  = %q
    }
  }
  sink "file" { config = { path = %q } }
}`, client.CertFile, client.KeyFile, sink))
	checkSinkToken(t, srv, sink, 0o640)
}

func TestTokenFileAndWrappedSink(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	child, err := root.Auth().Token().Create(&api.TokenCreateRequest{TTL: "1h", Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sink := filepath.Join(dir, "wrapped")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "token_file" {
    config = { token_file_path = %q }
  }
  sink "file" {
    wrap_ttl = "5m"
    config = { path = %q }
  }
}`, writeFile(t, dir, "token", child.Auth.ClientToken), sink))
	raw := readSink(t, sink)
	var info api.SecretWrapInfo
	if err := json.Unmarshal([]byte(raw), &info); err != nil || info.Token == "" {
		t.Fatalf("sink does not hold wrap info: %v", err)
	}
	if strings.Contains(raw, child.Auth.ClientToken) {
		t.Fatal("the wrapped sink contains the token in clear")
	}
	un, err := srv.NewClient(t, "").Logical().Unwrap(info.Token)
	if err != nil {
		t.Fatal(err)
	}
	if un.Data["token"] != child.Auth.ClientToken {
		t.Fatal("unwrapping does not give the token")
	}
}

func TestRevokedTokenLeadsToNewLogin(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": "4s", "token_max_ttl": "1h"})
	dir := t.TempDir()
	sink := filepath.Join(dir, "sink")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    min_backoff = "100ms"
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", secretID), sink))
	first := readSink(t, sink)
	if err := root.Auth().Token().RevokeOrphan(first); err != nil {
		t.Fatal(err)
	}
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if readSink(t, sink) == first {
			return errors.New("sink still holds the revoked token")
		}
		return nil
	})
	checkSinkToken(t, srv, sink, 0o640)
}

func TestTokenAtMaxTTLIsReplacedBeforeExpiry(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": "3s", "token_max_ttl": "8s"})
	dir := t.TempDir()
	sink := filepath.Join(dir, "sink")
	startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", secretID), sink))
	first := readSink(t, sink)
	s, err := lookup(t, root, first)
	if err != nil {
		t.Fatal(err)
	}
	expire, err := time.Parse(time.RFC3339Nano, s.Data["expire_time"].(string))
	if err != nil {
		t.Fatal(err)
	}
	created := expire.Add(-3 * time.Second)
	maxDeath := created.Add(8 * time.Second)
	var replacedAt time.Time
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if readSink(t, sink) == first {
			return errors.New("not replaced yet")
		}
		replacedAt = time.Now()
		return nil
	})
	if !replacedAt.Before(maxDeath) {
		t.Fatalf("token replaced at %v, after its max TTL end %v", replacedAt, maxDeath)
	}
	// The old token was renewed at least once before it was replaced.
	if replacedAt.Sub(created) < 3*time.Second {
		t.Fatalf("replaced after %v: before any renewal could happen", replacedAt.Sub(created))
	}
	checkSinkToken(t, srv, sink, 0o640)
}

func TestBackoffWhileVaultDownThenRecovery(t *testing.T) {
	srv := vaulttest.Start(t)
	srv.Stop()
	dir := t.TempDir()
	sink := filepath.Join(dir, "sink")
	r := startAgent(t, srv, fmt.Sprintf(`
vault {
  retry { num_retries = -1 } # Vault Agent's spelling of "no retries"
}
auto_auth {
  method "token_file" {
    min_backoff = "200ms"
    max_backoff = "1s"
    config = { token_file_path = %q }
  }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "token", srv.RootToken), sink))
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if n := strings.Count(r.logs.String(), "login failed"); n < 3 {
			return fmt.Errorf("%d failed logins so far", n)
		}
		return nil
	})
	if _, err := os.Stat(sink); err == nil {
		t.Fatal("sink written while Vault was down")
	}
	srv.Restart(t, nil)
	if tok := readSink(t, sink); tok != srv.RootToken {
		t.Fatal("sink does not hold the token after recovery")
	}
}

func TestExitAfterAuth(t *testing.T) {
	srv := vaulttest.Start(t)
	dir := t.TempDir()
	sink := filepath.Join(dir, "sink")
	r := startAgent(t, srv, fmt.Sprintf(`
exit_after_auth = true
auto_auth {
  method "token_file" { config = { token_file_path = %q } }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "token", srv.RootToken), sink))
	if err := r.wait(t, 15*time.Second); err != nil {
		t.Fatalf("exit_after_auth: %v", err)
	}
	if readSink(t, sink) != srv.RootToken {
		t.Fatal("sink not written")
	}
}

func TestUnwritableSinkStopsTheAgent(t *testing.T) {
	srv := vaulttest.Start(t)
	dir := t.TempDir()
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "token_file" { config = { token_file_path = %q } }
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "token", srv.RootToken), filepath.Join(dir, "no", "such", "dir", "token")))
	err := r.wait(t, 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "no", "such", "dir", "token")) {
		t.Fatalf("want an error naming the sink path, got %v", err)
	}
}

func TestBadCredentialsWithExitOnErr(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	roleID, _ := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir := t.TempDir()
	r := startAgent(t, srv, fmt.Sprintf(`
auto_auth {
  method "approle" {
    exit_on_err = true
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
  # Vault Agent (and rotor) refuse an auto_auth whose token nothing uses.
  sink "file" { config = { path = %q } }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", "not-the-secret-id"), filepath.Join(dir, "sink")))
	err := r.wait(t, 15*time.Second)
	if err == nil || !strings.Contains(err.Error(), "auth/approle/login") || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("want a clear login error, got %v", err)
	}
	if strings.Contains(err.Error(), "not-the-secret-id") {
		t.Fatal("the error shows the secret_id")
	}
}
