//go:build linux

package chaos

import (
	"testing"
	"time"
)

// Vault down for a while, then back with its storage: leases that are
// still valid must be renewed, not replaced.

func TestVaultStoppedThenRestarted(t *testing.T) {
	t.Parallel()
	d := settings().outage
	e := dbEnv(t, d)
	runWindow(t, e, faultWindow{
		scenario: scenarioName("Vault stopped %d, then restarted (file storage)", d),
		length:   d,
		begin:    func(e *env) { e.vault.Stop() },
		end:      func(e *env) string { e.vault.Restart(e.t); return "" },
	})
}

func TestVaultSealedThenUnsealed(t *testing.T) {
	t.Parallel()
	d := settings().outage
	e := dbEnv(t, d)
	runWindow(t, e, faultWindow{
		scenario: scenarioName("Vault sealed %d, then unsealed", d),
		length:   d,
		begin:    func(e *env) { e.vault.Seal(e.t) },
		end: func(e *env) string {
			e.vault.Unseal(e.t)
			e.vault.WaitActive(e.t, 30*time.Second)
			return ""
		},
	})
}
