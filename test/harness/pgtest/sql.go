package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// psqlTimeout bounds one psql run, connection included.
const psqlTimeout = 30 * time.Second

// DSN returns a connection URL for user and password to database db, e.g.
// "postgresql://app:secret@127.0.0.1:5432/myapp?sslmode=disable", with
// user and password escaped as URLs require.
func (p *Postgres) DSN(user, password, db string) string {
	u := url.URL{
		Scheme:   "postgresql",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort(p.Host, strconv.Itoa(p.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// ConnURLTemplate returns the connection_url for Vault's database engine:
// "postgresql://{{username}}:{{password}}@127.0.0.1:PORT/myapp?sslmode=disable".
// Vault fills in the username and password it is configured with.
func (p *Postgres) ConnURLTemplate() string {
	return fmt.Sprintf("postgresql://{{username}}:{{password}}@%s/%s?sslmode=disable",
		net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), Database)
}

// Exec runs sql (one or more statements, each committed on its own) in the
// database "myapp" as the superuser, and fails the test on the first error.
func (p *Postgres) Exec(t testing.TB, sql string) {
	t.Helper()
	p.execIn(t, Database, sql)
}

func (p *Postgres) execIn(t testing.TB, db, sql string) {
	t.Helper()
	if _, err := p.psql(p.AdminUser, p.AdminPassword, db, sql); err != nil {
		t.Fatalf("pgtest: exec: %v", err)
	}
}

// Query runs sql in the database "myapp" as the superuser and returns its
// output unaligned and without headers (psql -At): one line per row,
// columns separated by "|", the whole trimmed of surrounding white space.
func (p *Postgres) Query(t testing.TB, sql string) string {
	t.Helper()
	out, err := p.psql(p.AdminUser, p.AdminPassword, Database, sql)
	if err != nil {
		t.Fatalf("pgtest: query: %v", err)
	}
	return out
}

// Roles returns, sorted, the names of the roles that may log in and whose
// names start with prefix: "v-" lists the users Vault's database engine
// created with its default username template.
func (p *Postgres) Roles(t testing.TB, prefix string) []string {
	t.Helper()
	out := p.Query(t, "SELECT rolname FROM pg_roles WHERE rolcanlogin AND starts_with(rolname, "+
		quoteLiteral(prefix)+") ORDER BY rolname")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// CanLogin connects to the database "myapp" over TCP as user with password
// and runs SELECT 1. It returns nil on success, else an error with psql's
// message (wrong password, expired VALID UNTIL, missing role, ...).
func (p *Postgres) CanLogin(user, password string) error {
	out, err := p.psql(user, password, Database, "SELECT 1")
	if err != nil {
		return err
	}
	if out != "1" {
		return fmt.Errorf("pgtest: SELECT 1 as %s returned %q", user, out)
	}
	return nil
}

// CanSelect connects like CanLogin and reads table (e.g. "public.items").
// It returns nil only when both the login and the SELECT succeed, so it
// tells apart a user that can log in but lacks privileges.
func (p *Postgres) CanSelect(user, password, table string) error {
	_, err := p.psql(user, password, Database, "SELECT count(*) FROM "+table)
	return err
}

// psql runs sql through the psql client as user, reading it from standard
// input so that each statement runs on its own (as with a script file) and
// statements that cannot run in a transaction block (CREATE DATABASE) work.
// It stops at the first error and returns psql's message.
func (p *Postgres) psql(user, password, db, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), psqlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, "psql"),
		"-X", // no ~/.psqlrc
		"-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1",
		"-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", user, "-d", db,
		"-f", "-")
	cmd.Env = append(cleanEnv(),
		"PGPASSWORD="+password,
		"PGCONNECT_TIMEOUT=5",
		"PGSSLMODE=disable",
		"PGAPPNAME=pgtest",
		"LC_ALL=C")
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		// psql's messages name the user and the statement, never the password.
		return "", fmt.Errorf("pgtest: psql as %s: %w: %s", user, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteIdent quotes s as an SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
