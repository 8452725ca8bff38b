package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// metricsVariant is one way of writing /metrics, selected by build tag
// in a source tree that has all three (see metrics.sh).
type metricsVariant struct{ name, tag string }

var metricsVariants = []metricsVariant{
	{"hand-written (ops/prom.go)", ""},
	{"VictoriaMetrics/metrics", "metrics_vm"},
	{"prometheus/client_golang", "metrics_client_golang"},
}

// memSample is one run: resident memory once every file is written and
// /metrics was scraped once, the peak, and that scrape's duration.
type memSample struct {
	rssKB, hwmKB int
	scrape       time.Duration
	bytes        int
}

// TestCompareMetricsLibraries builds rotor three ways from
// $ROTOR_METRICS_SRC and measures binary size and memory in the 4- and
// 500-template scenarios. A benchmark script, not a test: ROTOR_BENCH=1.
func TestCompareMetricsLibraries(t *testing.T) {
	if os.Getenv("ROTOR_BENCH") != "1" {
		t.Skip("benchmark script: run bench/metrics.sh")
	}
	src := os.Getenv("ROTOR_METRICS_SRC")
	if src == "" {
		t.Fatal("ROTOR_METRICS_SRC: a source tree with ops/prom_vm.go and ops/prom_client_golang.go (bench/metrics.sh sets it)")
	}
	srv := vaulttest.Start(t, vaulttest.WithoutAudit())
	root := srv.Client(t)
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

	bins := map[string]string{}
	size := map[string]int64{}
	for _, v := range metricsVariants {
		bin := proc.BuildT(t, src, "./cmd/rotor", "-tags", v.tag, "-trimpath", "-ldflags", "-s -w")
		st, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		bins[v.name], size[v.name] = bin, st.Size()
	}
	four, kv := benchScenarios()
	fmt.Printf("\n/metrics written three ways: stripped binary (-trimpath -ldflags \"-s -w\"); VmRSS (max over 1s) and VmHWM\n")
	fmt.Printf("once every file is written and /metrics was scraped once; median of %d runs, the variants interleaved\n\n", runs)
	fmt.Printf("%-28s %10s | %-38s | %-38s\n", "", "binary", four.name, kv.name)
	fmt.Printf("%-28s %10s | %9s %9s %8s %8s | %9s %9s %8s %8s\n", "", "", "RSS", "HWM", "scrape", "bytes", "RSS", "HWM", "scrape", "bytes")
	results := map[string][2]memSample{}
	for si, sc := range []scenario{four, kv} {
		runsBy := map[string][]memSample{}
		for range runs {
			for _, v := range metricsVariants {
				secretID := vaulttest.NewSecretID(t, root, "approle", "bench")
				runsBy[v.name] = append(runsBy[v.name], runWithMetrics(t, bins[v.name], srv.Addr, roleID, secretID, sc))
			}
		}
		for _, v := range metricsVariants {
			r := results[v.name]
			r[si] = medianMem(runsBy[v.name])
			results[v.name] = r
		}
	}
	for _, v := range metricsVariants {
		r := results[v.name]
		fmt.Printf("%-28s %8.2fMB | %7.1fMB %7.1fMB %7.1fms %8d | %7.1fMB %7.1fMB %7.1fms %8d\n", v.name, float64(size[v.name])/(1<<20),
			float64(r[0].rssKB)/1024, float64(r[0].hwmKB)/1024, r[0].scrape.Seconds()*1000, r[0].bytes,
			float64(r[1].rssKB)/1024, float64(r[1].hwmKB)/1024, r[1].scrape.Seconds()*1000, r[1].bytes)
	}
}

// benchScenarios are compare_test.go's two scenarios.
func benchScenarios() (four, kv scenario) {
	four = scenario{name: "4 templates", templates: []tmplSpec{
		{`{{ with secret "database/creds/myapp-readonly" }}{{ .Data.username }}:{{ .Data.password }}{{ end }}`, "db"},
		{`{{ with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=72h" }}{{ .Data.certificate }}{{ end }}`, "crt"},
		{`{{ with secret "pki_int/issue/web-servers" "common_name=api.internal.example.com" "ttl=72h" }}{{ .Data.private_key }}{{ end }}`, "key"},
		{`{{ with secret "secret/app/config" }}{{ .Data.data.api_key }}{{ end }}`, "kv"},
	}}
	return four, kvScenario(500)
}

// runWithMetrics starts rotor with a listener, waits for every file,
// scrapes /metrics once, then samples its memory and stops it.
func runWithMetrics(t *testing.T, rotor, addr, roleID, secretID string, sc scenario) memSample {
	dir, auth := agentDir(t, addr, roleID, secretID)
	api := freeAddr(t)
	var b strings.Builder
	b.WriteString(auth)
	fmt.Fprintf(&b, "listener \"tcp\" { address = %q }\n", api)
	var files []string
	for _, tp := range sc.templates {
		f := filepath.Join(dir, "out", tp.file)
		files = append(files, f)
		fmt.Fprintf(&b, "template {\n  contents = %q\n  destination = %q\n}\n", tp.contents, f)
	}
	cfg := filepath.Join(dir, "agent.hcl")
	os.WriteFile(cfg, []byte(b.String()), 0o600)
	cmd := exec.Command(rotor, "agent", "-config", cfg, "-log-level", "error")
	logf, _ := os.Create(filepath.Join(dir, "agent.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.KillGroup()
	deadline := time.Now().Add(60 * time.Second)
	for next := 0; next < len(files); next = written(files, next) {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
			t.Fatalf("rotor did not render %s within 60s:\n%s", sc.name, log)
		}
		time.Sleep(time.Millisecond)
	}
	var m memSample
	start := time.Now()
	resp, err := http.Get("http://" + api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m.scrape, m.bytes = time.Since(start), len(body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "rotor_template_rendered") {
		t.Fatalf("/metrics: %d\n%s", resp.StatusCode, body)
	}
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		rss, hwm := procMem(cmd.Process.Pid)
		m.rssKB, m.hwmKB = max(m.rssKB, rss), max(m.hwmKB, hwm)
	}
	return m
}

// procMem reads VmRSS and VmHWM (kB) from /proc/<pid>/status.
func procMem(pid int) (rss, hwm int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "VmRSS":
			fmt.Sscanf(v, "%d", &rss)
		case "VmHWM":
			fmt.Sscanf(v, "%d", &hwm)
		}
	}
	return rss, hwm
}

func medianMem(ms []memSample) memSample {
	pick := func(f func(memSample) int64) int64 {
		v := make([]int64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	return memSample{
		rssKB:  int(pick(func(m memSample) int64 { return int64(m.rssKB) })),
		hwmKB:  int(pick(func(m memSample) int64 { return int64(m.hwmKB) })),
		scrape: time.Duration(pick(func(m memSample) int64 { return int64(m.scrape) })),
		bytes:  int(pick(func(m memSample) int64 { return int64(m.bytes) })),
	}
}
