// Package vaulttest runs a real Vault dev server for integration tests and
// configures the auth methods rotor supports (AppRole, Kubernetes, JWT, TLS
// certificates) against it.
//
// For fault-tolerance tests it also runs Vault as in production:
// StartPersistent is a server with file storage whose tokens and leases
// survive Stop, Kill, Restart, Seal and Unseal; StartCluster is an HA
// cluster on integrated storage (Raft) whose nodes can be killed and
// restarted one by one.
//
// Everything here is test-only: helpers take a testing.TB, fail the test on
// error and register their own cleanup. Servers listen on 127.0.0.1 only and
// run in their own process group, which is killed and reaped when the test
// ends.
//
// The Vault binary is located by VaultBin; tests skip when it is missing
// unless ROTOR_REQUIRE_INTEGRATION=1 is set (as CI does). Build it with
// `make vault`.
//
// Auth roles created by the Setup helpers attach the token policies
// "default" and the role (or cert) name, so a test grants access by writing a
// policy of that name with WritePolicy.
package vaulttest
