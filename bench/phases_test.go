package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// kvScenario is n templates, each reading one KV v2 secret into its own
// file in one directory.
func kvScenario(n int) scenario {
	sc := scenario{name: fmt.Sprintf("%d KV templates", n)}
	for i := range n {
		sc.templates = append(sc.templates, tmplSpec{fmt.Sprintf(`{{ with secret "secret/app/k%03d" }}{{ .Data.data.v }}{{ end }}`, i), fmt.Sprintf("k%03d", i)})
	}
	return sc
}

// phaseStat is one line of rotor's ROTOR_PHASES report: seconds from
// exec (from, to) and the events' durations added up (sum).
type phaseStat struct {
	n             int
	from, to, sum float64
}

// phaseRun is one run's report.
type phaseRun struct {
	start     float64 // exec -> main (runtime start, package initialization)
	total     float64 // exec -> every template rendered
	user, sys float64 // CPU seconds until then
	phases    map[string]phaseStat
}

// phaseOrder is the report's order, with what each phase covers.
var phaseOrder = []struct{ name, what string }{
	{"config", "read, decode, validate the config"},
	{"setup", "build the parts, parse every template"},
	{"login", "approle login (from Run's start)"},
	{"fetch", "first fetch of each secret"},
	{"execute", "template executions"},
	{"write", "group writes: tmp, fsync, rename, dir fsync"},
	{"reload", "reload commands"},
}

// parsePhases reads the "phase ..." lines of rotor's output; start is
// when the benchmark started the process.
func parsePhases(log string, start time.Time) phaseRun {
	r := phaseRun{phases: map[string]phaseStat{}}
	var base float64
	for _, line := range strings.Split(log, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "phase" {
			continue
		}
		kv := map[string]string{}
		for _, x := range f[2:] {
			k, v, _ := strings.Cut(x, "=")
			kv[k] = v
		}
		num := func(k string) float64 { v, _ := strconv.ParseFloat(kv[k], 64); return v }
		if f[1] == "total" {
			ns, _ := strconv.ParseInt(kv["start_unix_ns"], 10, 64)
			base = time.Unix(0, ns).Sub(start).Seconds()
			r.start, r.total, r.user, r.sys = base, num("to"), num("cpu_user"), num("cpu_sys")
			continue
		}
		n, _ := strconv.Atoi(kv["n"])
		r.phases[f[1]] = phaseStat{n: n, from: num("from"), to: num("to"), sum: num("sum")}
	}
	// The report counts from main; the table counts from exec.
	r.total += base
	for k, p := range r.phases {
		p.from, p.to = p.from+base, p.to+base
		r.phases[k] = p
	}
	return r
}

// phaseTable prints the median of each phase over the runs, rotor
// validate's time, the Vault server's CPU time during the runs, and two
// floors: the disk's for as many files, and Vault's for as many reads.
func phaseTable(name string, ms []measure, validate, floor, reads time.Duration) string {
	med := func(f func(phaseRun) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m.phases)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	lines := []string{name, fmt.Sprintf("  %-8s %-44s %8s %8s %9s %6s", "phase", "", "from", "to", "sum", "n")}
	lines = append(lines, fmt.Sprintf("  %-8s %-44s %8.3f %8.3f", "start", "exec -> main: runtime, package init", 0.0, med(func(r phaseRun) float64 { return r.start })))
	for _, p := range phaseOrder {
		n := med(func(r phaseRun) float64 { return float64(r.phases[p.name].n) })
		if n == 0 {
			lines = append(lines, fmt.Sprintf("  %-8s %-44s %8s %8s %9s %6d", p.name, p.what, "-", "-", "-", 0))
			continue
		}
		lines = append(lines, fmt.Sprintf("  %-8s %-44s %8.3f %8.3f %9.3f %6.0f", p.name, p.what,
			med(func(r phaseRun) float64 { return r.phases[p.name].from }),
			med(func(r phaseRun) float64 { return r.phases[p.name].to }),
			med(func(r phaseRun) float64 { return r.phases[p.name].sum }), n))
	}
	lines = append(lines,
		fmt.Sprintf("  %-8s %-44s %8s %8.3f", "total", "exec -> every template rendered", "", med(func(r phaseRun) float64 { return r.total })),
		fmt.Sprintf("  %-8s %-44s %8s %8.3f", "cpu", "rotor's user + system CPU seconds until then", "", med(func(r phaseRun) float64 { return r.user + r.sys })),
		fmt.Sprintf("  %-8s %-44s %8s %8.3f", "vault", "the Vault server's CPU seconds meanwhile", "", median(ms).vaultCPU),
		fmt.Sprintf("  %-8s %-44s %8s %8.3f", "validate", "rotor validate, whole process", "", validate.Seconds()),
		fmt.Sprintf("  %-8s %-44s %8s %8.3f", "disk", "create+write+fsync+rename each file, one dir", "", floor.Seconds()),
		fmt.Sprintf("  %-8s %-44s %8s %8.3f", "reads", "a plain client's reads, 8 at once (approle)", "", reads.Seconds()))
	return strings.Join(lines, "\n")
}

// timeValidate runs `rotor validate` on sc's configuration: the median
// of the runs, whole process.
func timeValidate(t *testing.T, rotor, addr string, sc scenario) time.Duration {
	cfg, _ := writeConfig(t.TempDir(), addr, "role", "secret", sc)
	var ds []time.Duration
	for range runs {
		start := time.Now()
		if out, err := exec.Command(rotor, "validate", "-config", cfg).CombinedOutput(); err != nil {
			t.Fatalf("rotor validate: %v\n%s", err, out)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// diskFloor is what n files cost the disk alone, written the plain way
// one after the other: create a temporary file, write, fsync, rename,
// then one fsync of the directory.
func diskFloor(t *testing.T, n int) time.Duration {
	dir := t.TempDir()
	start := time.Now()
	for i := range n {
		f, err := os.CreateTemp(dir, ".tmp-*")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(fmt.Sprint("value-", i))
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("k%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return time.Since(start)
}

// readFloor is what n KV reads cost Vault alone: a plain client logged in
// with the benchmark's approle reads secret/app/k000... 8 at once, the way
// rotor and Vault Agent read them (a KV v2 read each). Zero for n == 0.
func readFloor(t *testing.T, srv *vaulttest.Server, roleID, secretID string, n int) time.Duration {
	if n == 0 {
		return 0
	}
	c := srv.NewClient(t, "")
	sec, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": roleID, "secret_id": secretID})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(sec.Auth.ClientToken)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if _, err := c.Logical().Read(fmt.Sprintf("secret/data/app/k%03d", i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start)
}

// cpuSeconds is the user + system CPU time of process pid so far
// (/proc/<pid>/stat, in clock ticks of 1/100 s).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ")".
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}
