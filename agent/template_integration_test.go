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

// appRoleAuth sets up an approle login with the given policy and returns
// the auto_auth block for it.
func appRoleAuth(t *testing.T, root *api.Client, policy string, roleOpts map[string]any) string {
	t.Helper()
	vaulttest.WritePolicy(t, root, "app", policy)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", roleOpts)
	dir := t.TempDir()
	return fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
    }
  }
}`, writeFile(t, dir, "role_id", roleID), writeFile(t, dir, "secret_id", secretID))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}

func waitContent(t *testing.T, p string, want func(string) bool, timeout time.Duration) string {
	t.Helper()
	var got string
	vaulttest.Eventually(t, timeout, func() error {
		got = readFile(t, p)
		if !want(got) {
			return fmt.Errorf("%s holds %q", p, got)
		}
		return nil
	})
	return got
}

func countLines(t *testing.T, p string) int {
	return strings.Count(readFile(t, p), "\n")
}

func TestKVv2TemplateChangesAndNoNeedlessWrites(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"password": "one", "user": "app"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, out2, reloads := filepath.Join(dir, "out", "app.env"), filepath.Join(dir, "user.txt"), filepath.Join(dir, "reloads")
	r := startAgent(t, srv, appRoleAuth(t, root, `path "secret/data/app" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template_config {
  static_secret_render_interval = "1s"
}
template {
  contents    = "{{ with secret \"secret/app\" }}PASSWORD={{ .Data.data.password }}{{ end }}\n"
  destination = %q
  perms       = "0600"
  command     = "echo reload >> %s"
}
template {
  contents    = "{{ with secret \"secret/data/app\" }}{{ .Data.data.user }}{{ end }}"
  destination = %q
}`, out, reloads, out2))
	waitContent(t, out, func(s string) bool { return s == "PASSWORD=one\n" }, 20*time.Second)
	waitContent(t, out2, func(s string) bool { return s == "app" }, 5*time.Second)
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	waitContent(t, reloads, func(s string) bool { return s == "reload\n" }, 5*time.Second)
	st1, _ := os.Stat(out)
	// Several intervals with an unchanged value (the store logs each
	// re-read): no write, no reload.
	unchanged := func() int {
		n := 0
		for _, l := range strings.Split(r.logs.String(), "\n") {
			if strings.Contains(l, `msg="secret refreshed"`) && strings.Contains(l, "changed=false") {
				n++
			}
		}
		return n
	}
	before := unchanged()
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if n := unchanged() - before; n < 4 {
			return fmt.Errorf("%d unchanged re-reads", n)
		}
		return nil
	})
	st2, _ := os.Stat(out)
	if !st2.ModTime().Equal(st1.ModTime()) || countLines(t, reloads) != 1 {
		t.Fatalf("unchanged secret rewrote the file or reloaded (reloads=%d)", countLines(t, reloads))
	}
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"password": "two", "user": "app"}); err != nil {
		t.Fatal(err)
	}
	waitContent(t, out, func(s string) bool { return s == "PASSWORD=two\n" }, 5*time.Second)
	waitContent(t, reloads, func(s string) bool { return s == "reload\nreload\n" }, 5*time.Second)
}

func TestFailingTemplateDoesNotStopOthers(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	root.KVv2("secret").Put(t.Context(), "ok", map[string]any{"v": "fine"})
	root.KVv2("secret").Put(t.Context(), "denied", map[string]any{"v": "hidden"})
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	r := startAgent(t, srv, appRoleAuth(t, root, `path "secret/data/ok" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = "{{ with secret \"secret/denied\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
}
template {
  contents    = "{{ with secret \"secret/ok\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
}`, bad, good))
	waitContent(t, good, func(s string) bool { return s == "fine" }, 20*time.Second)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(r.logs.String(), "permission denied") {
			return errors.New("denial not reported")
		}
		return nil
	})
	if _, err := os.Stat(bad); err == nil {
		t.Fatal("denied template was written")
	}
	if n := strings.Count(r.logs.String(), "msg=authenticated"); n != 1 {
		t.Fatalf("a denied path must not cause re-logins; %d logins", n)
	}
	// Fix the policy: the failing template recovers on its own.
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/*" { capabilities = ["read"] }`)
	waitContent(t, bad, func(s string) bool { return s == "hidden" }, 20*time.Second)
}

func TestTemplateErrorsNeverShowSecretsAndFailedCommandsBackOff(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	root.KVv2("secret").Put(t.Context(), "app", map[string]any{"password": "hunter2-very-secret"})
	dir := t.TempDir()
	bad, good, runs := filepath.Join(dir, "bad"), filepath.Join(dir, "good"), filepath.Join(dir, "runs")
	r := startAgent(t, srv, appRoleAuth(t, root, `path "secret/data/app" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.password | parseInt }}{{ end }}"
  destination = %q
}
template {
  contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.password }}{{ end }}"
  destination = %q
  exec {
    command = ["sh", "-c", "echo run >> %s; echo failing on purpose; cat %s; exit 3"]
  }
}
template {
  contents    = "{{ with secret \"secret/forbidden\" \"password=hunter2-very-secret\" }}{{ .Data }}{{ end }}"
  destination = %q
}`, bad, good, runs, good, filepath.Join(dir, "vault-error")))
	waitContent(t, good, func(s string) bool { return s == "hunter2-very-secret" }, 20*time.Second)
	vaulttest.Eventually(t, 10*time.Second, func() error {
		if countLines(t, runs) < 2 {
			return errors.New("failed command not retried")
		}
		return nil
	})
	// The point of this sleep: a window in which a retried command must
	// not run more than a backoff allows (it is the measurement, not a
	// wait for something).
	time.Sleep(2 * time.Second)
	if n := countLines(t, runs); n > 4 {
		t.Fatalf("failed command ran %d times in ~4s: a hot loop", n)
	}
	logs := r.logs.String()
	for _, want := range []string{"template render failed", "parseInt", "reload command failed", "exit_code=3", "failing on purpose", "secret/forbidden (password)", "permission denied"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	if strings.Contains(logs, "hunter2") {
		t.Fatal("a secret value appears in the logs")
	}
}

func TestExitOnRetryFailure(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	dir := t.TempDir()
	r := startAgent(t, srv, appRoleAuth(t, root, `path "secret/data/nothing" { capabilities = ["deny"] }`, nil)+fmt.Sprintf(`
vault {
  retry { num_retries = 2 }
}
template_config {
  exit_on_retry_failure = true
}
template {
  contents    = "{{ with secret \"secret/denied\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
}`, filepath.Join(dir, "x")))
	err := r.wait(t, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit_on_retry_failure") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("want exit after retries naming the failure, got %v", err)
	}
}
