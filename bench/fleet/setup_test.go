package fleet

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// The workload every agent of both fleets renders, the one measured for a
// single agent in the issue: database credentials with a 30s TTL and a
// 90s max TTL, a PKI certificate with a 60s TTL (cert and key templates
// sharing one issue call), and a KV v2 secret read again every 30s.
const (
	dbTTL, dbMaxTTL = "30s", "90s"
	maxTTL          = 90 * time.Second // dbMaxTTL
	certTTL         = "60s"
	kvInterval      = "30s"

	dbRole  = "fleet"
	dbPath  = "database/creds/" + dbRole
	pkiPath = "pki_int/issue/web-servers"
	kvPath  = "secret/app/config"
	// dbUserPrefix starts the name of every user Vault creates for dbRole
	// with its default username template (v-<display name>-<role>-...).
	dbUserPrefix = "v-approle-" + dbRole + "-"
	// tokenTTL is the agents' token lifetime: longer than a run, so a
	// login after the outage replaces a token that was still valid.
	tokenTTL = "1h"
)

// templates are the agents' templates: contents and file name. The
// database file carries the lease ID, so the harness can tell a renewed
// lease from a replaced one without asking Vault.
var templates = []struct{ contents, file string }{
	{`{{ with secret "` + dbPath + `" }}lease_id={{ .LeaseID }}
username={{ .Data.username }}
password={{ .Data.password }}
{{ end }}`, "db.env"},
	{`{{ with secret "` + pkiPath + `" "common_name=api.internal.example.com" "ttl=` + certTTL + `" }}{{ .Data.certificate }}{{ end }}`, "cert.pem"},
	{`{{ with secret "` + pkiPath + `" "common_name=api.internal.example.com" "ttl=` + certTTL + `" }}{{ .Data.private_key }}{{ end }}`, "key.pem"},
	{`{{ with secret "` + kvPath + `" }}{{ .Data.data.api_key }}{{ end }}`, "kv.txt"},
}

// fleetPolicy lets an agent read, issue and renew everything above.
const fleetPolicy = `
path "` + dbPath + `" { capabilities = ["read"] }
path "` + pkiPath + `" { capabilities = ["create", "update"] }
path "secret/data/app/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
`

// vaultEnv is the one persistent Vault both fleets use, with its audit
// log, PostgreSQL behind its database engine, and the AppRole the agents
// log in with.
type vaultEnv struct {
	srv    *vaulttest.Persistent
	root   *api.Client
	pg     *pgtest.Postgres
	audit  string // the file audit device's log
	port   int    // Vault's API port, to count the agents' connections
	roleID string
}

func setupVault(t *testing.T) *vaultEnv {
	t.Helper()
	srv := vaulttest.StartPersistent(t)
	root := srv.Client(t)
	e := &vaultEnv{srv: srv, root: root, audit: filepath.Join(t.TempDir(), "audit.log")}
	if err := root.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file",
		Options: map[string]string{"file_path": e.audit}}); err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(srv.Addr[strings.LastIndex(srv.Addr, ":")+1:])
	if err != nil {
		t.Fatalf("port of %s: %v", srv.Addr, err)
	}
	e.port = port

	e.pg = pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, e.pg, dbTTL, dbMaxTTL)
	// Users get their privileges from a group role: a GRANT per user
	// would fail under concurrent creations (see SetupGroupRole).
	pgtest.SetupGroupRole(t, root, e.pg, dbRole, dbTTL, dbMaxTTL)
	vaulttest.SetupPKI(t, root, "1h", nil)
	if _, err := root.KVv2("secret").Put(t.Context(), "app/config", map[string]any{"api_key": "k-123"}); err != nil {
		t.Fatal(err)
	}
	vaulttest.WritePolicy(t, root, "fleet", fleetPolicy)
	e.roleID, _ = vaulttest.SetupAppRole(t, root, "approle", "fleet", map[string]any{
		"token_policies": []string{"default", "fleet"},
		"token_ttl":      tokenTTL,
		"token_max_ttl":  "24h",
	})
	return e
}

// secretID creates a secret ID for the agent called name. Its metadata
// is copied into the token's, and the audit log prints token metadata in
// clear, so every request can be attributed to its agent.
func (e *vaultEnv) secretID(t *testing.T, name string) string {
	t.Helper()
	s, err := e.root.Logical().Write("auth/approle/role/fleet/secret-id", map[string]any{
		"metadata": fmt.Sprintf(`{"agent":%q}`, name),
	})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := s.Data["secret_id"].(string)
	if id == "" {
		t.Fatal("empty secret_id")
	}
	return id
}

// lookupLease asks Vault when a lease was issued and when it expires; ok
// is false when Vault does not know it (expired and revoked, or never
// issued).
func (e *vaultEnv) lookupLease(leaseID string) (issued, expires time.Time, ok bool) {
	s, err := e.root.Logical().Write("sys/leases/lookup", map[string]any{"lease_id": leaseID})
	if err != nil || s == nil {
		return issued, expires, false
	}
	iss, _ := s.Data["issue_time"].(string)
	exp, _ := s.Data["expire_time"].(string)
	issued, err1 := time.Parse(time.RFC3339Nano, iss)
	expires, err2 := time.Parse(time.RFC3339Nano, exp)
	return issued, expires, err1 == nil && err2 == nil
}
