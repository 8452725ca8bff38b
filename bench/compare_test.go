// Package bench runs rotor and Vault Agent side by side on the same Vault
// server and prints how they compare. It is a benchmark script, not a
// test: it runs only with ROTOR_BENCH=1 (see run.sh).
package bench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/pgtest"
	"github.com/rotorproject/rotor/internal/vaulttest"
)

// runs per agent and scenario; the median is reported.
const runs = 5

type measure struct {
	elapsed  time.Duration // process start -> every file written
	rssKB    int           // resident memory once rendered
	requests int           // Vault requests (from the audit log)
}

type scenario struct {
	name      string
	templates []tmplSpec
}

type tmplSpec struct{ contents, file string }

func TestCompareWithVaultAgent(t *testing.T) {
	if os.Getenv("ROTOR_BENCH") != "1" {
		t.Skip("benchmark script: run bench/run.sh (or ROTOR_BENCH=1)")
	}
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	// Requests are counted from a file audit device, enabled only for one
	// counting run per agent: auditing slows every request down, and the
	// timed runs measure the agents, not the audit log.
	audit := filepath.Join(t.TempDir(), "audit.log")
	setAudit := func(on bool) {
		var err error
		if on {
			err = root.Sys().EnableAuditWithOptions("file", &api.EnableAuditOptions{Type: "file", Options: map[string]string{"file_path": audit}})
		} else {
			err = root.Sys().DisableAudit("file")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, "1h", "24h")
	vaulttest.SetupPKI(t, root, "720h", nil)
	for i := range 500 {
		if _, err := root.Logical().Write(fmt.Sprintf("secret/data/app/k%03d", i), map[string]any{"data": map[string]any{"v": fmt.Sprint("value-", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	root.KVv2("secret").Put(t.Context(), "app/config", map[string]any{"api_key": "k-123"})
	vaulttest.WritePolicy(t, root, "bench", `
path "database/creds/myapp-readonly" { capabilities = ["read"] }
path "pki_int/issue/web-servers" { capabilities = ["create", "update"] }
path "secret/data/app/*" { capabilities = ["read"] }
`)
	roleID, _ := vaulttest.SetupAppRole(t, root, "approle", "bench", map[string]any{"token_policies": []string{"default", "bench"}})

	rotor := buildRotor(t)
	vault := vaulttest.VaultBin(t)
	four, kv := benchScenarios()
	var report []string
	for _, sc := range []scenario{four, kv} {
		results := map[string]measure{}
		for _, agent := range []string{"rotor", "vault agent"} {
			var ms []measure
			for range runs {
				secretID := vaulttest.NewSecretID(t, root, "approle", "bench")
				ms = append(ms, runOnce(t, agent, rotor, vault, srv.Addr, roleID, secretID, audit, sc))
			}
			m := median(ms)
			setAudit(true)
			m.requests = runOnce(t, agent, rotor, vault, srv.Addr, roleID, vaulttest.NewSecretID(t, root, "approle", "bench"), audit, sc).requests
			setAudit(false)
			results[agent] = m
		}
		r, v := results["rotor"], results["vault agent"]
		report = append(report, fmt.Sprintf("%s\n  %-12s %10s %10s %10s\n  %-12s %9.3fs %8.1fMB %10d\n  %-12s %9.3fs %8.1fMB %10d\n  %-12s %9.1fx %9.1fx %9.1fx",
			sc.name, "", "time", "RSS", "requests",
			"rotor", r.elapsed.Seconds(), float64(r.rssKB)/1024, r.requests,
			"vault agent", v.elapsed.Seconds(), float64(v.rssKB)/1024, v.requests,
			"ratio (VA/r)", v.elapsed.Seconds()/r.elapsed.Seconds(), float64(v.rssKB)/float64(r.rssKB), float64(v.requests)/float64(r.requests)))
	}
	fmt.Printf("\nrotor vs Vault Agent v1.21.0, same dev Vault, median of %d runs each (requests: one more run with a file audit device)\n\n%s\n", runs, strings.Join(report, "\n\n"))
}

func buildRotor(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "rotor")
	root, err := vaulttest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/rotor")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build rotor: %v\n%s", err, out)
	}
	return bin
}

// runOnce starts one agent, waits for every file, samples its memory and
// counts its Vault requests, then stops it.
func runOnce(t *testing.T, agent, rotor, vault, addr, roleID, secretID, audit string, sc scenario) measure {
	dir, auth := agentDir(t, addr, roleID, secretID)
	var b strings.Builder
	b.WriteString(auth)
	var files []string
	for _, tp := range sc.templates {
		f := filepath.Join(dir, "out", tp.file)
		files = append(files, f)
		fmt.Fprintf(&b, "template {\n  contents = %q\n  destination = %q\n}\n", tp.contents, f)
	}
	cfg := filepath.Join(dir, "agent.hcl")
	os.WriteFile(cfg, []byte(b.String()), 0o600)
	before := auditRequests(audit)
	var cmd *exec.Cmd
	if agent == "rotor" {
		cmd = exec.Command(rotor, "agent", "-config", cfg, "-log-level", "error")
	} else {
		cmd = exec.Command(vault, "agent", "-config", cfg, "-log-level", "error")
	}
	cmd.Env = append(os.Environ(), "VAULT_ADDR="+addr)
	logf, _ := os.Create(filepath.Join(dir, "agent.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := start.Add(60 * time.Second)
	// Poll cheaply: remember how far the files are known written, so the
	// poller does not steal the CPU the agents need (2 cores here).
	next := 0
	for ; next < len(files); next = written(files, next) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
			t.Fatalf("%s did not render %s within 60s:\n%s", agent, sc.name, log)
		}
		time.Sleep(time.Millisecond)
	}
	m := measure{elapsed: time.Since(start)}
	// Steady state: the largest resident size over the next second.
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		m.rssKB = max(m.rssKB, rssKB(cmd.Process.Pid))
	}
	m.requests = auditRequests(audit) - before
	return m
}

// agentDir makes a directory holding the AppRole credentials and returns
// it with a config's vault and auto_auth blocks that log in with them.
func agentDir(t *testing.T, addr, roleID, secretID string) (dir, hcl string) {
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "role_id"), []byte(roleID), 0o600)
	os.WriteFile(filepath.Join(dir, "secret_id"), []byte(secretID), 0o600)
	return dir, fmt.Sprintf(`vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
`, addr, filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id"))
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// written returns the index of the first file from i on that is not
// written yet (len(files) when all are).
func written(files []string, i int) int {
	for ; i < len(files); i++ {
		st, err := os.Stat(files[i])
		if err != nil || st.Size() == 0 {
			return i
		}
	}
	return i
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			var kb int
			fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%d", &kb)
			return kb
		}
	}
	return 0
}

// auditRequests counts request entries in Vault's audit log.
func auditRequests(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), `"type":"request"`)
}

func median(ms []measure) measure {
	pick := func(f func(measure) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return measure{
		elapsed:  time.Duration(pick(func(m measure) float64 { return float64(m.elapsed) })),
		rssKB:    int(pick(func(m measure) float64 { return float64(m.rssKB) })),
		requests: int(pick(func(m measure) float64 { return float64(m.requests) })),
	}
}
