package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("X-Vault-Request", "true") // the local API refuses mutations without it
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLocalAPIHealthReadinessStatusMetricsRotate(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "30s", "1h")
	root.KVv2("secret").Put(t.Context(), "denied", map[string]any{"v": "x"})
	dir := t.TempDir()
	db, kv := filepath.Join(dir, "db.env"), filepath.Join(dir, "kv.txt")
	r := startAgent(t, srv, appRoleAuth(t, root, `path "database/creds/myapp-readonly" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
listener "tcp" {
  address       = "127.0.0.1:0"
  enable_rotate = true
}
template {
  contents    = "{{ with secret \"database/creds/myapp-readonly\" }}{{ .Data.username }}{{ end }}"
  destination = %q
}
template {
  contents    = "{{ with secret \"secret/denied\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
}`, db, kv))
	base := "http://" + r.agent.ListenAddrs()[0]
	if code, _ := get(t, "GET", base+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	waitContent(t, db, func(s string) bool { return strings.HasPrefix(s, "v-") }, 30*time.Second)
	// One template is denied: not ready, and the body says which and why.
	vaulttest.Eventually(t, 10*time.Second, func() error {
		code, body := get(t, "GET", base+"/readyz")
		if code != 503 || !strings.Contains(body, kv) || !strings.Contains(body, `"vault_denied"`) {
			return fmt.Errorf("readyz %d %s", code, body)
		}
		return nil
	})
	if code, _ := get(t, "GET", base+"/readyz"+db); code != 200 {
		t.Fatalf("the rendered template is not ready on its own: %d", code)
	}
	// Status: token by accessor, the lease with its ID redacted, templates.
	code, body := get(t, "GET", base+"/agent/v1/status")
	if code != 200 {
		t.Fatal(code)
	}
	var st struct {
		Authenticated bool
		Token         struct{ Accessor string }
		Leases        []struct {
			Path       string
			LeaseID    string `json:"lease_id"`
			Expires    time.Time
			NextAction string `json:"next_action"`
		}
		Templates []struct {
			Name      string
			LastError string `json:"last_error"`
			Rendered  bool
		}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	tok := r.agent.Token()
	if !st.Authenticated || st.Token.Accessor != tok.Accessor || strings.Contains(body, tok.Value()) {
		t.Fatalf("token status wrong or leaks the token: %s", body)
	}
	var dbLease bool
	for _, l := range st.Leases {
		if l.Path == "database/creds/myapp-readonly" {
			dbLease = true
			if !strings.HasSuffix(l.LeaseID, "/[redacted]") || time.Until(l.Expires) > 31*time.Second || l.NextAction != "renew" {
				t.Fatalf("lease status %+v", l)
			}
		}
	}
	if !dbLease {
		t.Fatalf("no database lease in status: %s", body)
	}
	// Metrics: the lease nearing expiry, renders and errors, requests.
	_, metrics := get(t, "GET", base+"/metrics")
	for _, want := range []string{
		"rotor_authenticated 1", `rotor_leases{engine="database"} 1`, `rotor_logins_total{outcome="success"} 1`,
		fmt.Sprintf(`rotor_template_render_errors_total{template=%q}`, kv), fmt.Sprintf(`rotor_template_renders_total{template=%q} 1`, db),
		`rotor_vault_requests_total{path_class="login",status="200"} 1`, "rotor_vault_request_duration_seconds_bucket",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	m := regexp.MustCompile(fmt.Sprintf(`rotor_secret_expiry_seconds\{template=%q\} (\S+)`, db)).FindStringSubmatch(metrics)
	if m == nil {
		t.Fatalf("no expiry gauge for %s:\n%s", db, metrics)
	}
	if secs, _ := strconv.ParseFloat(m[1], 64); secs <= 0 || secs > 30 {
		t.Fatalf("expiry gauge %v, want within the 30s lease", secs)
	}
	// Fix the policy: ready.
	vaulttest.WritePolicy(t, root, "app", `path "database/creds/myapp-readonly" { capabilities = ["read"] }
path "secret/data/denied" { capabilities = ["read"] }`)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if code, body := get(t, "GET", base+"/readyz"); code != 200 {
			return fmt.Errorf("readyz %d %s", code, body)
		}
		return nil
	})
	// Rotate over the API: a new database user.
	first := readFile(t, db)
	if code, body := get(t, "POST", base+"/agent/v1/rotate"); code != 200 || !strings.Contains(body, "rotating") {
		t.Fatalf("rotate %d %s", code, body)
	}
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if readFile(t, db) == first {
			return errors.New("not rotated")
		}
		return nil
	})
}

func TestReloadChangesSinksAndAuthMethod(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "one"})
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app" { capabilities = ["read"] }`)
	roleA, secretA := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	roleB, secretB := vaulttest.SetupAppRole(t, root, "approle", "other", map[string]any{"token_policies": []string{"default", "app"}})
	dir := t.TempDir()
	out, sink1, sink2 := filepath.Join(dir, "kv"), filepath.Join(dir, "sink1"), filepath.Join(dir, "sink2")
	conf := func(role, secret, sink string) string {
		return fmt.Sprintf(`
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" { config = { path = %q } }
}
template {
  contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
}`, writeFile(t, dir, role+".role", role), writeFile(t, dir, role+".secret", secret), sink, out)
	}
	r := startAgent(t, srv, conf(roleA, secretA, sink1))
	first := readSink(t, sink1)
	waitContent(t, out, func(s string) bool { return s == "one" }, 20*time.Second)
	st, _ := os.Stat(out)
	// A new sink: the current token is written there, no new login.
	if err := r.agent.Reload(loadConfig(t, srv, conf(roleA, secretA, sink2))); err != nil {
		t.Fatal(err)
	}
	if got := readSink(t, sink2); got != first {
		t.Fatal("the new sink does not hold the current token")
	}
	// A new auth method (another role): a new login, a new token.
	if err := r.agent.Reload(loadConfig(t, srv, conf(roleB, secretB, sink2))); err != nil {
		t.Fatal(err)
	}
	vaulttest.Eventually(t, 20*time.Second, func() error {
		if readSink(t, sink2) == first {
			return errors.New("no new token after the auth method changed")
		}
		return nil
	})
	s, err := lookup(t, root, readSink(t, sink2))
	if err != nil {
		t.Fatal(err)
	}
	if md, _ := s.Data["meta"].(map[string]any); md["role_name"] != "other" {
		t.Fatalf("new token belongs to %v", s.Data["meta"])
	}
	// The template's file was never rewritten.
	if st2, _ := os.Stat(out); !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("a reload rewrote an unchanged template")
	}
	// Changing the vault block is refused and says so.
	cfg := loadConfig(t, srv, conf(roleB, secretB, sink2))
	cfg.Vault.Namespace = "other"
	if err := r.agent.Reload(cfg); err == nil || !strings.Contains(err.Error(), "vault block") {
		t.Fatalf("vault block change: %v", err)
	}
}
