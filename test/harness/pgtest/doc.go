// Package pgtest runs a throwaway PostgreSQL server for integration tests
// and configures Vault's database secrets engine against it.
//
// Everything here is test-only: helpers take a testing.TB, fail the test on
// error and register their own cleanup. The server listens on 127.0.0.1 on a
// random port, keeps its data in a fresh temporary directory, and is shut
// down, reaped and deleted when the test ends.
//
// PostgreSQL refuses to run as root. When the test runs as root the server
// processes (initdb, postgres) run as the "postgres" system user; the psql
// client, used by Exec, Query and CanLogin, runs as the test itself.
//
// The binaries come from $ROTOR_PG_BINDIR, else the newest
// /usr/lib/postgresql/<version>/bin (Debian's postgresql package), else
// initdb on $PATH. Tests skip when none is found, unless
// ROTOR_REQUIRE_INTEGRATION=1 is set (as CI does).
package pgtest
