package mysqltest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientTimeout bounds one run of the mariadb client, connection included.
const clientTimeout = 30 * time.Second

// ConnURLTemplate returns the connection_url for Vault's
// mysql-database-plugin, a go-sql-driver DSN:
// "{{username}}:{{password}}@tcp(127.0.0.1:PORT)/orders". Vault fills in
// the username and password it is configured with.
func (m *MySQL) ConnURLTemplate() string {
	return fmt.Sprintf("{{username}}:{{password}}@tcp(%s)/%s", net.JoinHostPort(m.Host, strconv.Itoa(m.Port)), Database)
}

// Exec runs sql (one or more statements separated by ";") as root in the
// database "orders" and fails the test on the first error.
func (m *MySQL) Exec(t testing.TB, sql string) {
	t.Helper()
	if _, err := m.rootSQL(Database, sql); err != nil {
		t.Fatalf("mysqltest: exec: %v", err)
	}
}

// Query runs sql as root and returns its output in batch form without
// column names: one line per row, columns separated by tabs, the whole
// trimmed of surrounding white space.
func (m *MySQL) Query(t testing.TB, sql string) string {
	t.Helper()
	out, err := m.rootSQL(Database, sql)
	if err != nil {
		t.Fatalf("mysqltest: query: %v", err)
	}
	return out
}

// Users returns, sorted, the names of the accounts whose names start with
// prefix: "v-" lists the users Vault's database engine created with its
// default username template.
func (m *MySQL) Users(t testing.TB, prefix string) []string {
	t.Helper()
	out := m.Query(t, "SELECT DISTINCT User FROM mysql.user WHERE LEFT(User, CHAR_LENGTH("+quoteLiteral(prefix)+
		")) = "+quoteLiteral(prefix)+" ORDER BY User")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// CanLogin connects to the database "orders" over TCP as user with
// password and runs SELECT 1. It returns nil on success, else an error with
// the client's message (access denied, unknown user, ...), which names the
// user but never the password.
func (m *MySQL) CanLogin(user, password string) error {
	out, err := m.userSQL(user, password, "SELECT 1")
	if err != nil {
		return err
	}
	if out != "1" {
		return fmt.Errorf("mysqltest: SELECT 1 as %s returned %q", user, out)
	}
	return nil
}

// CanSelect connects like CanLogin and reads table (e.g. "orders.items").
// It returns nil only when both the login and the SELECT succeed, so it
// tells apart a user that can log in but lacks privileges.
func (m *MySQL) CanSelect(user, password, table string) error {
	_, err := m.userSQL(user, password, "SELECT COUNT(*) FROM "+table)
	return err
}

// rootSQL runs sql as root over the Unix socket, in db if not "".
func (m *MySQL) rootSQL(db, sql string) (string, error) {
	return m.client("root", "", db, sql, "--protocol=SOCKET", "--socket="+m.socket())
}

// userSQL runs sql as user over TCP, with the password in MYSQL_PWD (not
// on the command line, where ps would show it).
func (m *MySQL) userSQL(user, password, sql string) (string, error) {
	return m.client(user, password, Database, sql, "--protocol=TCP", "--host="+m.Host, "--port="+strconv.Itoa(m.Port))
}

// client runs the mariadb client, reading sql from standard input in
// batch mode, which stops at the first error. db is the default database
// ("" for none).
func (m *MySQL) client(user, password, db, sql string, conn ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	args := append([]string{"--no-defaults", "--batch", "--skip-column-names", "--connect-timeout=5",
		"--user=" + user}, conn...)
	if db != "" {
		args = append(args, "--database="+db)
	}
	cmd := exec.CommandContext(ctx, m.bins.client, args...)
	cmd.Env = cleanEnv()
	if password != "" {
		cmd.Env = append(cmd.Env, "MYSQL_PWD="+password)
	}
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		// The client's messages name the user and the statement; a
		// statement holding a password is the harness's own (Start's).
		return "", fmt.Errorf("mysqltest: mariadb as %s: %w: %s", user, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// quoteLiteral quotes s as an SQL string literal (backslashes are escapes
// in MariaDB's default sql_mode).
func quoteLiteral(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// account returns 'user'@'%', the form the seed's statements use.
func account(user string) string { return quoteLiteral(user) + "@'%'" }
