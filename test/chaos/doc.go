// Package chaos holds rotor's chaos tests: the rotor binary, run as users
// run it, against a real Vault (persistent, or a Raft HA cluster) and a
// real PostgreSQL, while Vault is stopped, sealed, slowed, failing or
// failing over, tokens and leases are revoked from outside, reload
// commands fail or hang, destination filesystems break, rotor is killed
// mid-write, and bad configurations arrive on SIGHUP.
//
// Everything is in the _test.go files; run them with `make chaos` (or
// `go test ./test/chaos/`). Each test logs one result line, a row of the
// table in README.md beside this file (the long run's results, with their
// date and commit):
//
//	| scenario | what rotor did | files kept | leases lost | recovery | requests during fault and recovery |
//
// Knobs (environment variables):
//
//	ROTOR_CHAOS_LONG=1      the long variants: a 60s outage, 1,000 kills
//	ROTOR_CHAOS_OUTAGE=30s  the outage length (default 16s, 60s when long)
//	ROTOR_CHAOS_KILLS=200   SIGKILLs in the kill test (default 40, 1,000 when long)
//	ROTOR_CHAOS_RESULTS=f   also append the result lines to file f
package chaos
