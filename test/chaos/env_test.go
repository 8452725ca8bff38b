//go:build linux

package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/faultproxy"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// env is a Vault (reached by rotor through a fault proxy), optionally a
// PostgreSQL behind Vault's database engine and a PKI, and an AppRole
// login for rotor whose policy reads all of it.
type env struct {
	t     *testing.T
	vault *vaulttest.Persistent // nil when the Vault is a cluster
	root  *api.Client
	pg    *pgtest.Postgres // nil without a database
	proxy *faultproxy.HTTP
	dir   string // configs and outputs
	sock  string // rotor's local API socket
	creds string // directory of the role_id and secret_id files
	role  string // the database role rotor's templates use
	ttl   string // its default_ttl
}

// envConfig says what an env needs.
type envConfig struct {
	dbTTL    string // database role default_ttl; "" for no database
	dbMaxTTL string // default "1h"
	pki      bool
	tokenTTL string // rotor's token TTL; default "1h"
}

// appPolicy lets rotor read and renew everything the scenarios use.
const appPolicy = `
path "database/creds/*" { capabilities = ["read"] }
path "secret/data/*" { capabilities = ["read"] }
path "pki_int/issue/*" { capabilities = ["create", "update"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
`

// newPersistentEnv starts a persistent Vault and builds an env on it.
func newPersistentEnv(t *testing.T, c envConfig) *env {
	t.Helper()
	v := vaulttest.StartPersistent(t)
	e := newEnv(t, v.Client(t), v.Addr, c)
	e.vault = v
	return e
}

// newEnv configures the Vault behind root (whose API is at addr) for c and
// puts a fault proxy in front of it.
func newEnv(t *testing.T, root *api.Client, addr string, c envConfig) *env {
	t.Helper()
	e := &env{t: t, root: root, dir: t.TempDir(), proxy: faultproxy.NewHTTP(t, addr), sock: socketPath(t),
		role: pgtest.DynamicRole, ttl: c.dbTTL}
	e.creds = e.dir
	if c.dbTTL != "" {
		if c.dbMaxTTL == "" {
			c.dbMaxTTL = "1h"
		}
		e.pg = pgtest.Start(t)
		pgtest.SetupVaultDatabase(t, root, e.pg, c.dbTTL, c.dbMaxTTL)
	}
	if c.pki {
		vaulttest.SetupPKI(t, root, "1h", nil)
	}
	if c.tokenTTL == "" {
		c.tokenTTL = "1h"
	}
	vaulttest.WritePolicy(t, root, "app", appPolicy)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": c.tokenTTL, "token_max_ttl": "24h"})
	e.write("role_id", roleID)
	e.write("secret_id", secretID)
	return e
}

// socketPath returns a path for rotor's API socket: a Unix socket path
// must stay under ~100 bytes, which t.TempDir() may not.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rotor-chaos")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "rotor.sock")
}

// fork returns an env on the same Vault, database and AppRole with its
// own proxy, directory, socket and database role (named role, with the
// same TTL), for subtests that run side by side.
func (e *env) fork(t *testing.T, role string) *env {
	t.Helper()
	f := *e
	f.t, f.dir, f.sock = t, t.TempDir(), socketPath(t)
	f.proxy = faultproxy.NewHTTP(t, e.proxy.Target())
	if e.pg != nil {
		f.role = role
		f.addRole(role, e.ttl)
	}
	return &f
}

// authBlock is the auto_auth and listener configuration.
func (e *env) authBlock() string {
	return fmt.Sprintf(`
auto_auth {
  method "approle" {
    min_backoff = "1s"
    max_backoff = "10s"
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
listener "unix" {
  address       = %q
  enable_rotate = true
}
`, filepath.Join(e.creds, "role_id"), filepath.Join(e.creds, "secret_id"), e.sock)
}

// path names a file in the env's directory.
func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

func (e *env) write(name, content string) {
	e.t.Helper()
	if err := os.WriteFile(e.path(name), []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// config writes a rotor configuration talking to Vault through the proxy
// with body (templates, template_config, ...) and returns its path.
func (e *env) config(body string) string {
	e.t.Helper()
	return e.configFor(e.proxy.URL, body)
}

// configFor is config with an explicit Vault address.
func (e *env) configFor(addr, body string) string {
	e.t.Helper()
	name := fmt.Sprintf("rotor-%d.hcl", time.Now().UnixNano())
	e.write(name, fmt.Sprintf("vault {\n  address = %q\n  retry { num_retries = 2 }\n}\n", addr)+e.authBlock()+body)
	return e.path(name)
}

// dbPath is where the env's database role issues credentials.
func (e *env) dbPath() string { return "database/creds/" + e.role }

// dbTpl renders the env's database credentials as "user:password".
func (e *env) dbTpl() string { return dbTplFor(e.dbPath()) }

func dbTplFor(path string) string {
	return `{{ with secret "` + path + `" }}{{ .Data.username }}:{{ .Data.password }}{{ end }}`
}

// Templates the scenarios share.
const (
	// The cert and key templates name the same issue call, so they share
	// one certificate.
	issueCall = `secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=1h"`
	certTpl   = `{{ with ` + issueCall + ` }}{{ .Data.certificate }}{{ end }}`
	keyTpl    = `{{ with ` + issueCall + ` }}{{ .Data.private_key }}{{ end }}`
)

// template returns a template block writing contents to dest, with
// command as its reload command when not empty.
func template(contents, dest, command string, extra ...string) string {
	b := fmt.Sprintf("template {\n  contents    = %q\n  destination = %q\n", contents, dest)
	if command != "" {
		b += fmt.Sprintf("  command     = %q\n", command)
	}
	for _, x := range extra {
		b += "  " + x + "\n"
	}
	return b + "}\n"
}

// countingCommand is a reload command that appends a line to file.
func countingCommand(file string) string { return "echo run >> " + file }

// lines counts the lines of file (0 when it does not exist).
func lines(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// dbUsers lists the database users Vault created for the env's role and
// has not dropped. Vault names them v-approle-<role, 8 bytes>-...
func (e *env) dbUsers() []string {
	return e.pg.Roles(e.t, "v-approle-"+e.role[:min(len(e.role), 8)]+"-")
}

// addRole creates the database role name like pgtest's DynamicRole, with
// default_ttl ttl. Its first 8 bytes must differ from other roles' (they
// name its users).
func (e *env) addRole(name, ttl string) {
	e.t.Helper()
	if _, err := e.root.Logical().Write("database/roles/"+name, map[string]any{
		"db_name":               pgtest.ConnectionName,
		"creation_statements":   pgtest.CreationStatements,
		"revocation_statements": pgtest.RevocationStatements,
		"renew_statements":      pgtest.RenewStatements,
		"default_ttl":           ttl,
		"max_ttl":               "1h",
	}); err != nil {
		e.t.Fatalf("database role %s: %v", name, err)
	}
}
