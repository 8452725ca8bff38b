package mysqltest

import (
	"crypto/rand"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// Names SetupVaultDatabase gives things in Vault, as in the seed article
// (shared/seed/vault-dynamic-secrets.txt, "MySQL Configuration").
const (
	// Mount is where the database secrets engine is enabled: the same
	// mount as pgtest's, so one Vault can serve both, as in the article.
	Mount = "database"
	// ConnectionName is the engine's connection: database/config/orders-db.
	ConnectionName = "orders-db"
	// AppRole issues users that may read and write the database "orders":
	// database/creds/orders-app.
	AppRole = "orders-app"
	// ReadOnlyRole issues users that may only read it:
	// database/creds/orders-readonly.
	ReadOnlyRole = "orders-readonly"
	// ItemsTable is the table SetupVaultDatabase creates, with one row.
	ItemsTable = "orders.items"
)

// The roles' statements, the article's own. MySQL has no expiry on an
// account: Vault's mysql-database-plugin does nothing on a renewal (the
// user lives until the lease is revoked), so there are no renew
// statements.
var (
	// AppCreationStatements create a user that may read and change the
	// tables of "orders".
	AppCreationStatements = []string{
		`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`,
		`GRANT SELECT, INSERT, UPDATE ON orders.* TO '{{name}}'@'%';`,
	}
	// ReadOnlyCreationStatements create a user that may read them.
	ReadOnlyCreationStatements = []string{
		`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`,
		`GRANT SELECT ON orders.* TO '{{name}}'@'%';`,
	}
	// RevocationStatements drop the user.
	RevocationStatements = []string{`DROP USER IF EXISTS '{{name}}'@'%';`}
	// RotationStatements set a static user's password (the plugin's
	// default, written out).
	RotationStatements = []string{`ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';`}
)

// MinRotationPeriod is the shortest rotation_period Vault 1.21 accepts for
// a static role.
const MinRotationPeriod = "5s"

// SetupVaultDatabase connects Vault's database secrets engine to m:
//
//   - enables the engine at database/ (if it is not already), checking its
//     rotation queue every second, so static roles rotate close to their
//     rotation_period;
//   - creates the table orders.items(id int, name text) with one row;
//   - writes database/config/orders-db (plugin mysql-database-plugin,
//     allowed_roles "*", the admin's credentials, max_open_connections 5,
//     verify_connection true);
//   - writes the roles orders-app and orders-readonly with the statements
//     above and default_ttl/max_ttl defaultTTL/maxTTL (e.g. "1h", "8h").
//
// Calling it again is safe.
func SetupVaultDatabase(t testing.TB, c *api.Client, m *MySQL, defaultTTL, maxTTL string) {
	t.Helper()
	vaulttest.EnableSecrets(t, c, Mount, "database", map[string]any{"rotation_queue_tick_interval": 1})
	m.Exec(t, "CREATE TABLE IF NOT EXISTS "+ItemsTable+" (id int PRIMARY KEY, name text);\n"+
		"INSERT IGNORE INTO "+ItemsTable+" VALUES (1, 'widget');")
	write(t, c, Mount+"/config/"+ConnectionName, map[string]any{
		"plugin_name":          "mysql-database-plugin",
		"allowed_roles":        "*",
		"connection_url":       m.ConnURLTemplate(),
		"username":             m.AdminUser,
		"password":             m.AdminPassword,
		"max_open_connections": 5,
		"verify_connection":    true,
	})
	for role, create := range map[string][]string{AppRole: AppCreationStatements, ReadOnlyRole: ReadOnlyCreationStatements} {
		write(t, c, Mount+"/roles/"+role, map[string]any{
			"db_name":               ConnectionName,
			"creation_statements":   create,
			"revocation_statements": RevocationStatements,
			"default_ttl":           defaultTTL,
			"max_ttl":               maxTTL,
		})
	}
}

// SetupStaticRole creates the account 'username'@'%' (if missing) with a
// random password and SELECT on "orders", then writes
// database/static-roles/<name> for it (db_name orders-db, rotation_period
// rotationPeriod, RotationStatements). Vault sets a new password at once;
// read it from database/static-creds/<name>. rotationPeriod must be at
// least MinRotationPeriod. Call SetupVaultDatabase first.
func SetupStaticRole(t testing.TB, c *api.Client, m *MySQL, name, username, rotationPeriod string) {
	t.Helper()
	m.Exec(t, "CREATE USER IF NOT EXISTS "+account(username)+" IDENTIFIED BY "+quoteLiteral(rand.Text())+";\n"+
		"GRANT SELECT ON "+Database+".* TO "+account(username)+";")
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
		t.Fatalf("mysqltest: write %s: %v", path, err)
	}
}
