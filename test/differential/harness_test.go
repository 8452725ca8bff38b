// Package differential runs Vault Agent 1.21 and rotor on the same
// configuration, against the same real Vault, and compares the files they
// write byte for byte, except for what Vault makes anew at each request
// (see mask). It holds tests only; docs/compatibility.md reports its
// results.
//
// The Vault binary comes from test/harness/vaulttest (ROTOR_VAULT_BIN, or
// test/vault/bin/vault); it is Vault Agent as well. Without it the tests
// skip, or fail under ROTOR_REQUIRE_INTEGRATION=1 (make test).
package differential

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// TestMain removes the rotor binary the suite built (proc.Rotor).
func TestMain(m *testing.M) { proc.Main(m) }

// rotorBinary returns rotor built once per test run, as cmd/rotor's tests
// do: the suite runs the binary users run.
func rotorBinary(t *testing.T) string { return proc.Rotor(t) }

// lab is one Vault with every engine the corpus uses, and an AppRole
// login allowed to use them.
type lab struct {
	srv   *vaulttest.Server
	root  *api.Client
	pg    *pgtest.Postgres
	vault string // the vault binary: `vault agent`
	rotor string
	dir   string // credentials and per-run files
	// auth is the vault and auto_auth blocks every run starts with.
	auth string
}

// appPolicy lets the agents' token do what the corpus asks of Vault.
const appPolicy = `
path "database/creds/*"        { capabilities = ["read"] }
path "database/static-creds/*" { capabilities = ["read"] }
path "pki_int/issue/*"         { capabilities = ["create", "update"] }
path "pki_int/cert/ca_chain"   { capabilities = ["read"] }
path "secret/data/*"           { capabilities = ["read"] }
path "secret/metadata/*"       { capabilities = ["read", "list"] }
path "kv1/*"                   { capabilities = ["read", "list"] }
path "auth/token/create"       { capabilities = ["create", "update"] }
`

// newLab starts Vault and PostgreSQL and sets up:
//   - PKI: the article's root pki/, intermediate pki_int/, role web-servers;
//   - the database engine on PostgreSQL with the article's myapp-readonly
//     role, and the static role legacy-app;
//   - KV v2 (secret/, the dev server's) and KV v1 (kv1/) with the values the
//     documentation's examples read, secret/passwords in two versions;
//   - AppRole "app" with appPolicy.
func newLab(t *testing.T) *lab {
	t.Helper()
	// TLS, so the Kubernetes injector's config (ca_cert, tls_server_name)
	// runs as written.
	srv := vaulttest.Start(t, vaulttest.WithTLS())
	root := srv.Client(t)
	l := &lab{srv: srv, root: root, vault: vaulttest.VaultBin(t), rotor: rotorBinary(t), dir: t.TempDir()}
	vaulttest.SetupPKI(t, root, "720h", nil)
	l.pg = pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, l.pg, "1h", "24h")
	pgtest.SetupStaticRole(t, root, l.pg, "legacy-app", "legacy_app_user", "24h")
	vaulttest.EnableSecrets(t, root, "kv1", "kv", map[string]any{"version": 1})
	kv2 := root.KVv2("secret")
	ctx := t.Context()
	for _, w := range []struct {
		path string
		data map[string]any
	}{
		// consul-template's docs: secret "secret/passwords" (two
		// versions, for ?version=1).
		{"passwords", map[string]any{"wifi": "FORWARDSoneword"}},
		{"passwords", map[string]any{"wifi": "FORWARDStwoword", "router": "admin"}},
		// Vault Agent's templates tutorial.
		{"customers/acme", map[string]any{"organization": "ACME Inc.", "customer_id": "ABXX2398YZPIE7391", "contact_email": "james@acme.com"}},
		// The Kubernetes injector's sample config (agent/config/testdata).
		{"orders/config", map[string]any{"api_url": "https://orders.internal.example.com", "timeout": "30s", "retries": "3"}},
		{"app/config", map[string]any{"api_key": "k-123", "feature": "on"}},
	} {
		if _, err := kv2.Put(ctx, w.path, w.data); err != nil {
			t.Fatalf("kv put %s: %v", w.path, err)
		}
	}
	for path, data := range map[string]map[string]any{
		"kv1/passwords": {"wifi": "FORWARDSoneword"},
		"kv1/app/db":    {"host": "db.internal.example.com", "port": "5432"},
		"kv1/app/cache": {"host": "cache.internal.example.com"},
	} {
		if _, err := root.Logical().Write(path, data); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	vaulttest.WritePolicy(t, root, "app", appPolicy)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	writeFile(t, filepath.Join(l.dir, "role_id"), roleID)
	writeFile(t, filepath.Join(l.dir, "secret_id"), secretID)
	l.auth = fmt.Sprintf(`vault {
  address = %q
  ca_cert = %q
  retry { num_retries = 1 }
}
auto_auth {
  method "approle" {
    config = {
      role_id_file_path                   = %q
      secret_id_file_path                 = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
`, srv.Addr, srv.CACert, filepath.Join(l.dir, "role_id"), filepath.Join(l.dir, "secret_id"))
	return l
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runTimeout bounds one agent run: both render in well under a second.
const runTimeout = 60 * time.Second

// agentRun is how one agent ended.
type agentRun struct {
	code int
	log  string
}

// run starts an agent with args, waits for it to exit and returns its exit
// code and output. The process is killed if it outlives runTimeout.
func run(t *testing.T, bin string, args ...string) agentRun {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Nothing from the test's environment may point an agent elsewhere.
	cmd.Env = proc.CleanEnv()
	var out vaulttest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	p := proc.StartT(t, cmd)
	if !p.Wait(runTimeout) {
		p.KillGroup()
		t.Fatalf("%s %s did not exit within %v:\n%s", filepath.Base(bin), strings.Join(args, " "), runTimeout, tailLines(out.String(), 30))
	}
	var ee *exec.ExitError
	if err := p.Err(); err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return agentRun{code: p.ExitCode(), log: out.String()}
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
