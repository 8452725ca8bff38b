package chaos

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/faultproxy"
)

// Vault slow or failing for a while, through the fault proxy: no lease
// that could have been renewed may expire.

func TestVaultSlow(t *testing.T) {
	t.Parallel()
	d := settings().outage
	e := dbEnv(t, d)
	var id faultproxy.RuleID
	runWindow(t, e, faultWindow{
		scenario: scenarioName("Vault answers every request 5s late for %d", d),
		length:   d,
		begin:    func(e *env) { id = e.proxy.Add(faultproxy.Rule{Fault: faultproxy.Delay(5 * time.Second)}) },
		end:      func(e *env) string { e.proxy.Remove(id); return "" },
	})
}

func TestVaultErrors(t *testing.T) {
	t.Parallel()
	d := settings().outage
	e := dbEnv(t, d)
	for _, f := range []struct {
		name  string
		fault faultproxy.Fault
	}{
		{"500", faultproxy.Status(http.StatusInternalServerError)},
		{"503", faultproxy.Status(http.StatusServiceUnavailable)},
		{"429", faultproxy.StatusRetryAfter(http.StatusTooManyRequests, 2*time.Second)},
	} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			e := e.fork(t, "r"+f.name)
			var id faultproxy.RuleID
			runWindow(t, e, faultWindow{
				scenario: scenarioName(fmt.Sprintf("Vault answers %s for %%d", f.fault), d),
				length:   d,
				begin:    func(e *env) { id = e.proxy.Add(faultproxy.Rule{Fault: f.fault}) },
				end:      func(e *env) string { e.proxy.Remove(id); return "" },
			})
		})
	}
}
