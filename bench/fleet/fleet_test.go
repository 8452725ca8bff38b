// Package fleet runs a fleet of rotor agents, and a fleet of Vault
// Agents, against one persistent Vault with the same workload, and
// measures what the fleet costs Vault: requests per agent in a steady
// window, connections per agent, the spread of a deploy storm, and the
// recovery from a 60s Vault outage. Requests are counted from Vault's
// file audit log. It is a benchmark, not a test: it runs only with
// ROTOR_FLEET=1 (see run.sh) and takes about 25 minutes.
package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// Knobs, from the environment (defaults in brackets):
//
//	ROTOR_FLEET_ROTORS   rotor agents [200]
//	ROTOR_FLEET_AGENTS   Vault Agents [40, fewer if memory is short]
//	ROTOR_FLEET_VAULT_AGENT  0: no Vault Agent fleet (trial runs, a single rotor) [1]
//	ROTOR_FLEET_WARMUP   start -> steady window [90s]
//	ROTOR_FLEET_STEADY   steady window [300s]
//	ROTOR_FLEET_OUTAGE   Vault stopped [60s]
//	ROTOR_FLEET_OBSERVE  after Vault is back [120s]
//	ROTOR_FLEET_OUT      where the CSVs, chart and table go [bench/fleet/results]
func TestFleet(t *testing.T) {
	if os.Getenv("ROTOR_FLEET") != "1" {
		t.Skip("benchmark script: run bench/fleet/run.sh (or ROTOR_FLEET=1)")
	}
	tl := timeline{
		warmup:  envDuration(t, "ROTOR_FLEET_WARMUP", 90*time.Second),
		steady:  envDuration(t, "ROTOR_FLEET_STEADY", window300),
		outage:  envDuration(t, "ROTOR_FLEET_OUTAGE", 60*time.Second),
		observe: envDuration(t, "ROTOR_FLEET_OBSERVE", 120*time.Second),
	}
	nRotor := envInt(t, "ROTOR_FLEET_ROTORS", 200)
	nAgent := envInt(t, "ROTOR_FLEET_AGENTS", 0)
	out := os.Getenv("ROTOR_FLEET_OUT")
	if out == "" {
		out = "results"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}

	e := setupVault(t)
	rotor := kind{name: "rotor", prefix: "r", bin: buildRotor(t), api: true}
	vaultAgent := kind{name: "Vault Agent", prefix: "v", bin: vaulttest.VaultBin(t)}
	fmt.Printf("fleet benchmark: Vault %s, audit log %s; timeline %+v\n", e.srv.Addr, e.audit, tl)

	runs := []*fleetRun{runFleet(t, e, rotor, nRotor, tl)}
	// Vault Agent's fleet is sized after rotor's has stopped, from what
	// memory is free then: each Vault Agent takes ~200 MB.
	nAgent, why := vaultAgentCount(nAgent)
	if os.Getenv("ROTOR_FLEET_VAULT_AGENT") == "0" {
		why = "none (ROTOR_FLEET_VAULT_AGENT=0)"
	} else {
		fmt.Printf("Vault Agent fleet: N = %d (%s)\n", nAgent, why)
		runs = append(runs, runFleet(t, e, vaultAgent, nAgent, tl))
	}

	reqs, err := readAuditFile(e.audit)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	var ss []*stats
	for _, r := range runs {
		ss = append(ss, computeStats(r, reqs))
	}
	for _, f := range []func() error{
		func() error { return writeRateCSV(filepath.Join(out, "fleet.csv"), runs, reqs) },
		func() error { return writeStormCSV(filepath.Join(out, "storm.csv"), ss) },
		func() error { return writeRequests(filepath.Join(out, "requests.csv.gz"), runs, reqs) },
		func() error { return plot(out, runs, ss) },
	} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	header := fmt.Sprintf("Measured %s on this project's VM (%d cores, %d GB, shared with other developers; load average at the end %s), "+
		"Vault v1.21.0 with file storage. Timeline per fleet: all agents started in the same second, %v warm-up, %v steady window, "+
		"Vault stopped for %v, then started and unsealed, %v observed. Vault Agent's N: %s.",
		time.Now().Format("2006-01-02"), runtime.NumCPU(), memTotalGB(), strings.Join(strings.Fields(string(load))[:3], " "),
		tl.warmup, tl.steady, tl.outage, tl.observe, why)
	table := summary(ss, header)
	if err := os.WriteFile(filepath.Join(out, "summary.md"), []byte(table+"\n"), 0o644); err != nil {
		t.Error(err)
	}
	fmt.Printf("\n%s\n\nwritten to %s: fleet.csv, storm.csv, requests.csv.gz, fleet.png, summary.md\n", table, out)
}

// vaultAgentCount sizes the Vault Agent fleet: n when set, else 40 or as
// many as fit in the available memory less 6 GB of headroom for the
// other developers on this machine, at 250 MB each.
func vaultAgentCount(n int) (int, string) {
	if n > 0 {
		return n, "set by ROTOR_FLEET_AGENTS"
	}
	avail := memAvailableMB()
	fit := (avail - 6*1024) / 250
	n = max(min(40, fit), 5)
	return n, fmt.Sprintf("each Vault Agent keeps ~200 MB resident, so 200 would need ~40 GB on a %d GB machine; "+
		"%d MB were available, and N = min(40, (available - 6 GB headroom) / 250 MB) = %d", memTotalGB(), avail, n)
}

func memTotalGB() int {
	b, _ := os.ReadFile("/proc/meminfo")
	var kb int
	fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
	return (kb + 512*1024) / (1024 * 1024)
}

func buildRotor(t *testing.T) string {
	return proc.BuildT(t, "", "./cmd/rotor", "-trimpath", "-ldflags", "-s -w")
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
