//go:build linux

package chaos

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/faultproxy"
	"github.com/rotorproject/rotor/test/harness/pgtest"
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

// TestDatabaseUnreachableFromVault cuts Vault off from PostgreSQL (a TCP
// proxy between them stops forwarding, connections stay open) while
// rotor's renewal is due; the application still reaches PostgreSQL.
// Vault then cannot run the renewal's statement; when the network comes
// back, the held bytes flow again.
func TestDatabaseUnreachableFromVault(t *testing.T) {
	t.Parallel()
	d := settings().outage
	e := dbEnv(t, d)
	tp := faultproxy.NewTCP(t, net.JoinHostPort(e.pg.Host, strconv.Itoa(e.pg.Port)))
	if _, err := e.root.Logical().Write("database/config/"+pgtest.ConnectionName, map[string]any{
		"plugin_name":       "postgresql-database-plugin",
		"allowed_roles":     "*",
		"connection_url":    "postgresql://{{username}}:{{password}}@" + tp.Addr + "/" + pgtest.Database + "?sslmode=disable",
		"username":          e.pg.AdminUser,
		"password":          e.pg.AdminPassword,
		"verify_connection": true,
	}); err != nil {
		t.Fatal(err)
	}
	runWindow(t, e, faultWindow{
		scenario: scenarioName("PostgreSQL unreachable from Vault for %d (TCP paused, connections kept open)", d),
		length:   d,
		begin:    func(*env) { tp.Pause() },
		end:      func(*env) string { tp.Resume(); return "" },
	})
}
