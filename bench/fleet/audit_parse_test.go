package fleet

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// This test runs in `make test` (no Vault): it checks that the audit log
// is read the way the benchmark's numbers assume.

// auditSample has, in Vault 1.21's format (fields trimmed): an agent's
// login (its request carries no token; the response names the agent), a
// read with the agent's token, a harness request with the root token, and
// a database fetch that arrives in the log before an earlier one, and a
// renewal that Vault refused.
const auditSample = `{"type":"request","time":"2026-11-26T12:00:00.100Z","request":{"id":"a1","path":"auth/approle/login"}}
{"type":"response","time":"2026-11-26T12:00:00.102Z","request":{"id":"a1","path":"auth/approle/login"},"response":{"auth":{"metadata":{"agent":"r007","role_name":"fleet"}}}}
{"type":"request","time":"2026-11-26T12:00:00.900Z","auth":{"policies":["default","fleet"],"metadata":{"agent":"r007","role_name":"fleet"}},"request":{"id":"b2","path":"secret/data/app/config"}}
{"type":"response","time":"2026-11-26T12:00:00.901Z","auth":{"policies":["default","fleet"],"metadata":{"agent":"r007","role_name":"fleet"}},"request":{"id":"b2","path":"secret/data/app/config"},"response":{}}
{"type":"request","time":"2026-11-26T12:00:01.500Z","auth":{"policies":["root"]},"request":{"id":"c3","path":"sys/leases/lookup"}}
{"type":"request","time":"2026-11-26T12:00:02.300Z","auth":{"policies":["default","fleet"],"metadata":{"agent":"v001"}},"request":{"id":"d4","path":"database/creds/fleet"}}
{"type":"request","time":"2026-11-26T12:00:02.200Z","auth":{"policies":["default","fleet"],"metadata":{"agent":"v002"}},"request":{"id":"e5","path":"sys/leases/renew"}}
{"type":"response","time":"2026-11-26T12:00:02.201Z","auth":{"policies":["default","fleet"],"metadata":{"agent":"v002"}},"request":{"id":"e5","path":"sys/leases/renew"},"error":"lease not found"}
`

func TestReadAuditAttributesAndClassifies(t *testing.T) {
	reqs, err := readAudit(strings.NewReader(auditSample))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		agent, class    string
		harness, failed bool
	}
	want := []row{
		{"r007", classLogin, false, false},
		{"r007", classKV, false, false},
		{"", classOther, true, false},
		{"v002", classRenew, false, true},
		{"v001", classDB, false, false},
	}
	if len(reqs) != len(want) {
		t.Fatalf("got %d requests, want %d (responses must not count)", len(reqs), len(want))
	}
	for i, w := range want {
		if got := (row{reqs[i].agent, reqs[i].class, reqs[i].harness, reqs[i].failed}); got != w {
			t.Errorf("request %d: got %+v, want %+v", i, got, w)
		}
	}

	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	agents := between(reqs, start, start.Add(3*time.Second))
	if len(agents) != 4 {
		t.Errorf("between kept %d requests, want the 4 agents' (not the harness's)", len(agents))
	}
	if got := perSecond(agents, start, 3); got[0] != 2 || got[1] != 0 || got[2] != 2 {
		t.Errorf("perSecond = %v, want [2 0 2]", got)
	}
	if got := between(reqs, start.Add(time.Second), start.Add(2300*time.Millisecond)); len(got) != 1 || got[0].agent != "v002" {
		t.Errorf("between [1s, 2.3s) = %+v, want only v002's renewal (the end is excluded)", got)
	}
}

func TestVaultConnsCountsClientSideConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	// This process holds both ends of two connections; only the two
	// whose remote end is the port are an agent's connections to Vault.
	pid := os.Getpid()
	var got int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = vaultConns([]int{pid}, port)[pid]; got == 2 {
			return
		}
	}
	t.Errorf("vaultConns counted %d connections to port %d, want 2", got, port)
}
