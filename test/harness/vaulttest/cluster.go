package vaulttest

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// Cluster is a Vault HA cluster on integrated storage (Raft): n nodes on
// loopback, each with its own API and cluster port, storage directory and
// log. Every node shares the root token and the unseal key.
//
// Standby nodes of Vault 1.21 (open source) forward client requests to the
// active node over the cluster port and answer with its response, so a
// client talking to a standby sees no difference. A client that sends
// X-Vault-No-Request-Forwarding, or a request that cannot be forwarded,
// gets a 307 redirect to the active node's api_addr instead; the Go API
// client follows one redirect and sends a PUT's body again. While a new
// active node is being elected, a standby may still redirect to the dead
// one's address, and a node that does not know the active node yet
// answers 500 ("local node not active but active cluster node not found").
type Cluster struct {
	// Nodes are the cluster's servers; Nodes[0] was initialised first.
	Nodes []*Persistent
	// RootToken and UnsealKey are the cluster's (the same on every node).
	RootToken, UnsealKey string
}

// StartCluster runs n Vault nodes with integrated storage, initialises the
// first, joins the others to it (sys/storage/raft/join), unseals all, and
// waits until every node is a Raft voter, so that the cluster survives the
// loss of any minority. KV v2 is mounted at secret/ as on the dev server.
// Nodes are stopped when the test ends. Each node takes 150-250 MB.
//
// Raft runs with performance_multiplier 1 (the tightest timing), so a new
// active node is elected within seconds of the active node's death.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("vaulttest: StartCluster needs at least one node, got %d", n)
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	c := &Cluster{}
	for i := range n {
		s := newPersistent(t, fmt.Sprintf("vault-node%d", i))
		s.member = true
		api := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i]))
		cluster := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1]))
		s.Addr = "http://" + api
		// Vault always speaks TLS on the cluster port, with certificates
		// it makes itself.
		s.ClusterAddr = "https://" + cluster
		s.writeConfig(t, fmt.Sprintf(`storage "raft" {
  path    = %q
  node_id = "node%d"
  performance_multiplier = 1
}
listener "tcp" {
  address         = %q
  cluster_address = %q
  tls_disable     = true
}
cluster_addr = %q
`, s.DataDir, i, api, cluster, s.ClusterAddr))
		c.Nodes = append(c.Nodes, s)
	}

	first := c.Nodes[0]
	first.Start(t)
	keys := first.initialise(t)
	c.RootToken, c.UnsealKey = keys.RootToken, keys.Keys[0]
	for _, s := range c.Nodes {
		s.RootToken, s.UnsealKey = c.RootToken, c.UnsealKey
	}
	first.Unseal(t)
	first.WaitActive(t, readyTimeout)
	root := first.Client(t)
	// Autopilot promotes a joined node to voter once it has been healthy
	// for server_stabilization_time (10s by default); a cluster whose
	// other nodes are not voters yet loses its quorum with its leader.
	if _, err := root.Logical().Write("sys/storage/raft/autopilot/configuration", map[string]any{
		"server_stabilization_time": "1s",
	}); err != nil {
		t.Fatalf("vaulttest: autopilot configuration: %v", err)
	}
	for _, s := range c.Nodes[1:] {
		s.Start(t)
		res, err := s.NewClient(t, "").Sys().RaftJoin(&api.RaftJoinRequest{LeaderAPIAddr: first.Addr})
		if err != nil || !res.Joined {
			t.Fatalf("vaulttest: join %s to %s: joined=%v, %v", s.Addr, first.Addr, res != nil && res.Joined, err)
		}
		// With Shamir seals the join completes during the unseal: the
		// node answers the leader's challenge with the key.
		s.Unseal(t)
		s.WaitUnsealed(t, readyTimeout)
		s.WaitLeader(t, readyTimeout)
	}
	c.waitVoters(t, n, readyTimeout)
	EnableSecrets(t, root, "secret", "kv", map[string]any{"version": 2})
	return c
}

// waitVoters waits until the Raft configuration lists n voters.
func (c *Cluster) waitVoters(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		i := c.Active()
		if i < 0 {
			return fmt.Errorf("no active node")
		}
		sec, err := c.Nodes[i].Client(t).Logical().Read("sys/storage/raft/configuration")
		if err != nil {
			return err
		}
		if sec == nil {
			return fmt.Errorf("no Raft configuration")
		}
		cfg, _ := sec.Data["config"].(map[string]any)
		servers, _ := cfg["servers"].([]any)
		voters := 0
		for _, srv := range servers {
			if m, ok := srv.(map[string]any); ok && m["voter"] == true {
				voters++
			}
		}
		if voters != n {
			return fmt.Errorf("%d of %d nodes are voters", voters, n)
		}
		return nil
	})
}

// Addrs returns every node's API address, in node order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr
	}
	return out
}

// Active returns the index of a node that reports itself active now
// (sys/health 200), or -1 when none does (during an election).
func (c *Cluster) Active() int {
	for i, s := range c.Nodes {
		if s.Running() && s.Health() == healthActive {
			return i
		}
	}
	return -1
}

// WaitActive waits until a node other than those in not is active, and
// returns its index. After Kill(i) of the active node,
// WaitActive(t, timeout, i) measures the failover.
func (c *Cluster) WaitActive(t testing.TB, timeout time.Duration, not ...int) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for i, s := range c.Nodes {
			skip := false
			for _, n := range not {
				skip = skip || n == i
			}
			if !skip && s.Running() && s.Health() == healthActive {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vaulttest: no active node (excluding %v) within %v", not, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill crashes node i (SIGKILL).
func (c *Cluster) Kill(i int) { c.Nodes[i].Kill() }

// Restart starts node i again (stopping it first if it runs), unseals it
// and waits until it is a standby or active again and knows the active
// node.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Nodes[i].Restart(t)
}
