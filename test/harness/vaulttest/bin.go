package vaulttest

import (
	"testing"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// EnvVaultBin names an explicit Vault binary; it wins over every other location.
const EnvVaultBin = "ROTOR_VAULT_BIN"

// VaultBin returns the path of the Vault binary to test against. It looks,
// in order, at $ROTOR_VAULT_BIN, <module root>/test/vault/bin/vault and
// `vault` on $PATH. When none exists the test is skipped, or fails if
// $ROTOR_REQUIRE_INTEGRATION is "1".
func VaultBin(t testing.TB) string {
	t.Helper()
	return proc.Find(t, proc.Lookup{
		Env:   EnvVaultBin,
		Paths: []string{"test/vault/bin/vault"},
		Name:  "vault",
		Missing: "vaulttest: no Vault binary: build it with `make vault` " +
			"(writes test/vault/bin/vault) or set " + EnvVaultBin,
	})
}
