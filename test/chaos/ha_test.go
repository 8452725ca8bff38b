//go:build linux

package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// TestVaultHAFailover kills the active node of a 3-node Raft cluster while
// rotor's lease renewal is due, twice: once with rotor talking to a
// standby (which forwards to whichever node is active), once with rotor
// talking to a load balancer (the proxy) that is repointed at the new
// active node once it is elected. rotor must follow and lose no lease.
func TestVaultHAFailover(t *testing.T) {
	t.Parallel()
	c := vaulttest.StartCluster(t, 3)
	first := c.Active()
	// The election takes 1.5-3s with Raft's tightest timing. A load
	// balancer notices a dead backend only at its next health check: the
	// proxy is repointed 8s after the kill.
	const length = 8 * time.Second
	e := newEnv(t, c.Nodes[first].Client(t), c.Nodes[first].Addr, envConfig{dbTTL: fmt.Sprintf("%ds", int(ttlFor(length).Seconds()))})

	failover := func(t *testing.T, role, scenario string, repoint bool) {
		active := c.WaitActive(t, time.Minute)
		other := (active + 1) % len(c.Nodes)
		f := e.fork(t, role)
		// Operator requests go to a node that survives.
		f.root = c.Nodes[other].Client(t)
		if !repoint {
			f.proxy.SetTarget(c.Nodes[other].Addr)
		} else {
			f.proxy.SetTarget(c.Nodes[active].Addr)
		}
		// The next kill needs a quorum of voters again.
		t.Cleanup(func() { c.Restart(t, active) })
		var elected chan time.Duration
		runWindow(t, f, faultWindow{
			scenario: scenario,
			length:   length,
			// The renewal falls in the election, which takes seconds.
			lead: 500 * time.Millisecond,
			begin: func(*env) {
				killed := time.Now()
				c.Kill(active)
				elected = make(chan time.Duration, 1)
				go func() {
					for c.Active() < 0 && time.Since(killed) < time.Minute {
						time.Sleep(20 * time.Millisecond)
					}
					elected <- time.Since(killed)
				}()
			},
			end: func(*env) string {
				took := <-elected
				next := c.WaitActive(t, time.Minute, active)
				if repoint {
					f.proxy.SetTarget(c.Nodes[next].Addr)
				}
				return fmt.Sprintf("node%d killed, node%d active after %s", active, next, secs(took))
			},
		})
	}
	t.Run("standby", func(t *testing.T) {
		failover(t, "hastandby", "Vault HA (3-node Raft): active node killed; rotor configured with a standby's address", false)
	})
	t.Run("repointed", func(t *testing.T) {
		failover(t, "harepoint", "Vault HA (3-node Raft): active node killed; rotor's address (a load balancer) repointed at the new active node", true)
	})
}
