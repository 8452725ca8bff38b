package pgtest

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// Names SetupVaultDatabase gives things in Vault.
const (
	// Mount is where the database secrets engine is enabled.
	Mount = "database"
	// ConnectionName is the engine's connection: database/config/myapp-db.
	ConnectionName = "myapp-db"
	// DynamicRole is the role for dynamic users:
	// database/creds/myapp-readonly.
	DynamicRole = "myapp-readonly"
	// ItemsTable is the table SetupVaultDatabase creates, with one row,
	// that DynamicRole's users (and SetupStaticRole's user) may read.
	ItemsTable = "public.items"
)

// Statements of DynamicRole, as in the seed article
// (shared/seed/vault-dynamic-secrets.txt), with one addition to the
// revocation: the article's creation statements give the user default
// privileges (ALTER DEFAULT PRIVILEGES ... TO), which its revocation
// statements do not take back, so DROP ROLE fails with "role ... cannot be
// dropped because some objects depend on it" and the lease is never
// revoked. RevocationStatements revokes them before dropping the role.
var (
	// CreationStatements create a user that may read every table in
	// schema public, including tables created later by the superuser.
	CreationStatements = []string{
		`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
		`GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO "{{name}}";`,
	}
	// RevocationStatements drop the user and everything that refers to it.
	RevocationStatements = []string{
		`REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM "{{name}}";`,
		`REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM "{{name}}";`,
		`REVOKE USAGE ON SCHEMA public FROM "{{name}}";`,
		`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM "{{name}}";`,
		`DROP ROLE IF EXISTS "{{name}}";`,
	}
	// RenewStatements extend the user's VALID UNTIL when Vault renews the
	// lease.
	RenewStatements = []string{
		`ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`,
	}
	// RotationStatements set a static user's password.
	RotationStatements = []string{
		`ALTER USER "{{name}}" WITH PASSWORD '{{password}}';`,
	}
)

// MinRotationPeriod is the shortest rotation_period Vault 1.21 accepts for
// a static role ("rotation_period must be 5 seconds or more").
const MinRotationPeriod = "5s"

// SetupVaultDatabase connects Vault's database secrets engine to pg:
//
//   - enables the engine at database/ (Vault runs the built-in
//     postgresql-database-plugin in its own process), checking its rotation
//     queue every second instead of every 5s, so static roles rotate close
//     to their rotation_period;
//   - creates the table public.items(id int, name text) with one row;
//   - writes database/config/myapp-db (allowed_roles "*", the superuser's
//     credentials, verify_connection true);
//   - writes database/roles/myapp-readonly with the statements above and
//     default_ttl/max_ttl defaultTTL/maxTTL (e.g. "1h", "24h").
//
// Calling it again (for example after vaulttest's Restart) is safe.
func SetupVaultDatabase(t testing.TB, c *api.Client, pg *Postgres, defaultTTL, maxTTL string) {
	t.Helper()
	vaulttest.EnableSecrets(t, c, Mount, "database", map[string]any{
		// Read by the engine at mount time (seconds); see rotation.go.
		"rotation_queue_tick_interval": 1,
	})
	// The table must exist before users are created: GRANT ... ON ALL
	// TABLES covers existing tables only.
	pg.Exec(t, "CREATE TABLE IF NOT EXISTS "+ItemsTable+" (id int, name text);\n"+
		"INSERT INTO "+ItemsTable+" SELECT 1, 'widget' WHERE NOT EXISTS (SELECT FROM "+ItemsTable+");")
	write(t, c, Mount+"/config/"+ConnectionName, map[string]any{
		"plugin_name":       "postgresql-database-plugin",
		"allowed_roles":     "*",
		"connection_url":    pg.ConnURLTemplate(),
		"username":          pg.AdminUser,
		"password":          pg.AdminPassword,
		"verify_connection": true,
	})
	write(t, c, Mount+"/roles/"+DynamicRole, map[string]any{
		"db_name":               ConnectionName,
		"creation_statements":   CreationStatements,
		"revocation_statements": RevocationStatements,
		"renew_statements":      RenewStatements,
		"default_ttl":           defaultTTL,
		"max_ttl":               maxTTL,
	})
}

// SetupStaticRole creates the PostgreSQL user username (if missing) with a
// random password and SELECT on the tables of schema public, then writes
// database/static-roles/<name> for it (db_name myapp-db, rotation_period
// rotationPeriod, RotationStatements). Vault sets a new password at once;
// read it from database/static-creds/<name>. rotationPeriod must be at least
// MinRotationPeriod. Call SetupVaultDatabase first.
func SetupStaticRole(t testing.TB, c *api.Client, pg *Postgres, name, username, rotationPeriod string) {
	t.Helper()
	// PostgreSQL has no CREATE ROLE IF NOT EXISTS.
	pg.Exec(t, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "+quoteLiteral(username)+") THEN "+
		"CREATE ROLE "+quoteIdent(username)+" LOGIN PASSWORD "+quoteLiteral(rand.Text())+"; END IF; END $$;\n"+
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+quoteIdent(username)+";")
	write(t, c, Mount+"/static-roles/"+name, map[string]any{
		"db_name":             ConnectionName,
		"username":            username,
		"rotation_period":     rotationPeriod,
		"rotation_statements": RotationStatements,
	})
}

// write is Logical().Write that fails the test on error.
func write(t testing.TB, c *api.Client, path string, data map[string]any) {
	t.Helper()
	if _, err := c.Logical().Write(path, data); err != nil {
		t.Fatalf("pgtest: write %s: %v", path, err)
	}
}

// SetupGroupRole writes database/roles/<name> for many users: they get
// SELECT on the items table by joining the group role <name>_readers
// (created here) instead of by a GRANT each. Every GRANT adds an entry to
// the table's one access-list row, which PostgreSQL refuses past about
// 2,400 users ("row is too big") and updates badly under concurrent
// creations ("tuple concurrently updated"). Call SetupVaultDatabase first.
func SetupGroupRole(t testing.TB, c *api.Client, pg *Postgres, name, defaultTTL, maxTTL string) {
	t.Helper()
	group := strings.ReplaceAll(name, "-", "_") + "_readers"
	pg.Exec(t, "DO $$ BEGIN CREATE ROLE "+group+" NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n"+
		"GRANT SELECT ON "+ItemsTable+" TO "+group+";")
	write(t, c, Mount+"/roles/"+name, map[string]any{
		"db_name":               ConnectionName,
		"creation_statements":   []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE ` + group + `;`},
		"revocation_statements": []string{`DROP ROLE IF EXISTS "{{name}}";`},
		"renew_statements":      RenewStatements,
		"default_ttl":           defaultTTL,
		"max_ttl":               maxTTL,
	})
}
