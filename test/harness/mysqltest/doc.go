// Package mysqltest runs a throwaway MariaDB server for integration tests
// and configures Vault's database secrets engine (its built-in
// mysql-database-plugin) against it, with the seed article's MySQL roles.
//
// Everything here is test-only: helpers take a testing.TB, fail the test on
// error and register their own cleanup. The server listens on 127.0.0.1 on a
// random port, keeps its data in a fresh temporary directory, and is shut
// down, reaped and deleted when the test ends.
//
// The server reads no option file (--no-defaults), so a MariaDB installed
// for other uses on the machine changes nothing. As root it runs with
// --user=root, which mariadbd accepts, so that it can stay a direct child
// that the cleanup signals and reaps. The harness administers the server as
// its root user over the Unix socket in the temporary directory (no
// password, nothing over TCP), so that Vault rotating its own admin
// password (rotate-root) cannot lock the test out. Every login a test
// checks goes over TCP with a password, as an application's would.
//
// The binaries (mariadbd, mariadb-install-db and the mariadb client) come
// from $ROTOR_MARIADB_BINDIR, else /usr/sbin and /usr/bin (Debian's
// mariadb-server and mariadb-client packages), else $PATH. Tests skip when
// none is found, unless ROTOR_REQUIRE_INTEGRATION=1 is set (as CI does).
package mysqltest
