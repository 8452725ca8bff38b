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
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// runs per agent and scenario (ROTOR_BENCH_RUNS); the median is reported,
// and the best time beside it.
var runs = envInt("ROTOR_BENCH_RUNS", 5)

type measure struct {
	elapsed  time.Duration // process start -> every file written
	rssKB    int           // resident memory once rendered
	requests int           // Vault requests (from the audit log)
	vaultCPU float64       // CPU seconds the Vault server spent meanwhile
	phases   phaseRun      // rotor only: its ROTOR_PHASES report
}

type scenario struct {
	name      string
	templates []tmplSpec
}

type tmplSpec struct{ contents, file string }

// TestCompareWithVaultAgent runs every scenario with both agents, their
// runs interleaved, and prints time, memory and requests side by side,
// then rotor's per-phase table and its config validation time.
// ROTOR_BENCH_SCENARIOS (e.g. "4,500,5000") and ROTOR_BENCH_AGENTS
// ("rotor" alone) narrow it down; ROTOR_BENCH_BEFORE=REV adds "rotor
// before", built from that commit (it needs ROTOR_PHASES: bench/ has it).
func TestCompareWithVaultAgent(t *testing.T) {
	if os.Getenv("ROTOR_BENCH") != "1" {
		t.Skip("benchmark script: run bench/run.sh (or ROTOR_BENCH=1)")
	}
	scenarios := selectedScenarios()
	agents := []string{"rotor", "vault agent"}
	if a := os.Getenv("ROTOR_BENCH_AGENTS"); a != "" {
		agents = strings.Split(a, ",")
	}
	bins := map[string]string{"rotor": buildRotor(t, ""), "vault agent": vaulttest.VaultBin(t)}
	if rev := os.Getenv("ROTOR_BENCH_BEFORE"); rev != "" {
		bins["rotor before"] = buildRotor(t, rev)
		agents = append([]string{"rotor before"}, agents...)
	}
	srv := vaulttest.Start(t, vaulttest.WithoutAudit())
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
	kvSecrets := 0
	for _, sc := range scenarios {
		kvSecrets = max(kvSecrets, sc.kv)
	}
	for i := range kvSecrets {
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

	var report, phaseTables []string
	for _, bs := range scenarios {
		sc := bs.scenario
		results := map[string]measure{}
		best := map[string]time.Duration{}
		all := map[string][]measure{}
		// The agents take turns, so that the load others put on the
		// machine meanwhile falls on all of them alike.
		for range runs {
			for _, agent := range agents {
				secretID := vaulttest.NewSecretID(t, root, "approle", "bench")
				all[agent] = append(all[agent], runOnce(t, agent, bins[agent], srv, roleID, secretID, audit, sc))
			}
		}
		for _, agent := range agents {
			ms := all[agent]
			m := median(ms)
			best[agent] = slices.MinFunc(ms, func(a, b measure) int { return int(a.elapsed - b.elapsed) }).elapsed
			setAudit(true)
			m.requests = runOnce(t, agent, bins[agent], srv, roleID, vaulttest.NewSecretID(t, root, "approle", "bench"), audit, sc).requests
			setAudit(false)
			results[agent] = m
		}
		report = append(report, compareLines(sc.name, agents, results, best))
		reads := readFloor(t, srv, roleID, vaulttest.NewSecretID(t, root, "approle", "bench"), bs.kv)
		disk := diskFloor(t, len(sc.templates))
		for _, agent := range agents {
			if isRotor(agent) {
				validate := timeValidate(t, bins[agent], srv.Addr, sc)
				phaseTables = append(phaseTables, phaseTable(sc.name+": "+agent, all[agent], validate, disk, reads))
			}
		}
	}
	fmt.Printf("\nrotor vs Vault Agent v1.21.0, same dev Vault, median of %d runs each, best in brackets (requests: one more run with a file audit device)\n\n%s\n",
		runs, strings.Join(report, "\n\n"))
	if len(phaseTables) > 0 {
		fmt.Printf("\nrotor per phase (ROTOR_PHASES=1), median of the same %d runs; seconds from exec; sum: the events' durations added up (they overlap)\n\n%s\n",
			runs, strings.Join(phaseTables, "\n\n"))
	}
}

// benchScenario is a scenario and the number of KV secrets it reads.
type benchScenario struct {
	scenario
	kv int
}

// selectedScenarios are the 4-template scenario and 500, 2,000 and 5,000
// KV templates, or those ROTOR_BENCH_SCENARIOS names.
func selectedScenarios() []benchScenario {
	want := []string{"4", "500", "2000", "5000"}
	if s := os.Getenv("ROTOR_BENCH_SCENARIOS"); s != "" {
		want = strings.Split(s, ",")
	}
	four, _ := benchScenarios()
	var out []benchScenario
	for _, w := range want {
		if w == "4" {
			out = append(out, benchScenario{scenario: four})
			continue
		}
		n, err := strconv.Atoi(w)
		if err != nil || n <= 0 {
			panic("ROTOR_BENCH_SCENARIOS: " + w)
		}
		out = append(out, benchScenario{scenario: kvScenario(n), kv: n})
	}
	return out
}

func compareLines(name string, agents []string, results map[string]measure, best map[string]time.Duration) string {
	lines := []string{name, fmt.Sprintf("  %-12s %20s %10s %10s %10s", "", "time (best)", "RSS", "requests", "Vault CPU")}
	for _, a := range agents {
		m := results[a]
		lines = append(lines, fmt.Sprintf("  %-12s %9.3fs (%6.3fs) %8.1fMB %10d %9.2fs", a, m.elapsed.Seconds(), best[a].Seconds(), float64(m.rssKB)/1024, m.requests, m.vaultCPU))
	}
	r, v := results["rotor"], results["vault agent"]
	if _, ok := results["rotor before"]; ok && r.elapsed > 0 {
		b := results["rotor before"]
		lines = append(lines, fmt.Sprintf("  %-12s %9.1fx (%6.1fx) %9.1fx", "before/after",
			b.elapsed.Seconds()/r.elapsed.Seconds(), best["rotor before"].Seconds()/best["rotor"].Seconds(), float64(b.rssKB)/float64(r.rssKB)))
	}
	if r.elapsed > 0 && v.elapsed > 0 {
		lines = append(lines, fmt.Sprintf("  %-12s %9.1fx (%6.1fx) %9.1fx %9.1fx", "ratio (VA/r)",
			v.elapsed.Seconds()/r.elapsed.Seconds(), best["vault agent"].Seconds()/best["rotor"].Seconds(),
			float64(v.rssKB)/float64(r.rssKB), float64(v.requests)/float64(r.requests)))
	}
	return strings.Join(lines, "\n")
}

// buildRotor builds rotor from this tree, or from commit rev when set.
func buildRotor(t *testing.T, rev string) string {
	src := "" // this module
	if rev != "" {
		root, err := proc.ModuleRoot()
		if err != nil {
			t.Fatal(err)
		}
		src = t.TempDir()
		archive := exec.Command("sh", "-c", `git archive "$1" | tar -x -C "$2"`, "sh", rev, src)
		archive.Dir = root
		if out, err := archive.CombinedOutput(); err != nil {
			t.Fatalf("git archive %s: %v\n%s", rev, err, out)
		}
	}
	return proc.BuildT(t, src, "./cmd/rotor", "-trimpath", "-ldflags", "-s -w")
}

// isRotor tells rotor (and "rotor before") from Vault Agent.
func isRotor(agent string) bool { return strings.HasPrefix(agent, "rotor") }

// writeConfig writes the agent configuration for sc in dir and returns
// its path and the files it renders.
func writeConfig(dir, addr, roleID, secretID string, sc scenario) (string, []string) {
	auth := approleHCL(dir, addr, roleID, secretID)
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
	return cfg, files
}

// runOnce starts one agent, waits for every file, samples its memory and
// counts its Vault requests, then stops it. rotor runs with ROTOR_PHASES
// set: its report costs a clock read per event, and is printed once every
// file is written.
func runOnce(t *testing.T, agent, bin string, srv *vaulttest.Server, roleID, secretID, audit string, sc scenario) measure {
	dir := t.TempDir()
	addr := srv.Addr
	cfg, files := writeConfig(dir, addr, roleID, secretID, sc)
	before := auditRequests(audit)
	cmd := exec.Command(bin, "agent", "-config", cfg, "-log-level", "error")
	cmd.Env = os.Environ()
	if isRotor(agent) {
		cmd.Env = append(cmd.Env, "ROTOR_PHASES=1")
	}
	cmd.Env = append(cmd.Env, "VAULT_ADDR="+addr)
	logPath := filepath.Join(dir, "agent.log")
	logf, _ := os.Create(logPath)
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	vaultBefore := cpuSeconds(srv.Pid())
	start := time.Now()
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.KillGroup()
	limit := 60*time.Second + time.Duration(len(files))*20*time.Millisecond
	deadline := start.Add(limit)
	// Poll cheaply: remember how far the files are known written, so the
	// poller does not steal the CPU the agents need (2 cores here).
	next := 0
	for ; next < len(files); next = written(files, next) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("%s did not render %s within %v:\n%s", agent, sc.name, limit, log)
		}
		time.Sleep(time.Millisecond)
	}
	m := measure{elapsed: time.Since(start), vaultCPU: cpuSeconds(srv.Pid()) - vaultBefore}
	// Steady state: the largest resident size over the next second.
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		m.rssKB = max(m.rssKB, rssKB(cmd.Process.Pid))
	}
	m.requests = auditRequests(audit) - before
	if isRotor(agent) {
		log, _ := os.ReadFile(logPath)
		m.phases = parsePhases(string(log), start)
	}
	return m
}

// agentDir makes a directory holding the AppRole credentials and returns
// it with a config's vault and auto_auth blocks that log in with them.
func agentDir(t *testing.T, addr, roleID, secretID string) (dir, hcl string) {
	dir = t.TempDir()
	return dir, approleHCL(dir, addr, roleID, secretID)
}

// approleHCL writes the AppRole credentials into dir and returns the vault
// and auto_auth blocks that log in with them.
func approleHCL(dir, addr, roleID, secretID string) string {
	os.WriteFile(filepath.Join(dir, "role_id"), []byte(roleID), 0o600)
	os.WriteFile(filepath.Join(dir, "secret_id"), []byte(secretID), 0o600)
	return fmt.Sprintf(`vault { address = %q }
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
		vaultCPU: pick(func(m measure) float64 { return m.vaultCPU }),
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
