package monitoring

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// liveRotor is a running rotor binary with a listener.
type liveRotor struct {
	api, bin, config, dbFile string
}

// startRotor runs rotor against a real Vault and PostgreSQL (database
// leases of dbTTL) with a listener and database, PKI and KV templates (the
// database one with a reload command), and waits until it is ready.
func startRotor(t *testing.T, dbTTL string) liveRotor {
	t.Helper()
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	pg := pgtest.Start(t)
	pgtest.SetupVaultDatabase(t, root, pg, dbTTL, "24h")
	vaulttest.SetupPKI(t, root, "720h", nil)
	if _, err := root.KVv2("secret").Put(t.Context(), "app/config", map[string]any{"api_key": "kv-secret-value-42"}); err != nil {
		t.Fatal(err)
	}
	vaulttest.WritePolicy(t, root, "mon", `
path "database/creds/myapp-readonly" { capabilities = ["read"] }
path "pki_int/issue/web-servers" { capabilities = ["create", "update"] }
path "secret/data/app/*" { capabilities = ["read"] }
`)
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "mon", map[string]any{"token_policies": []string{"default", "mon"}, "token_ttl": "1h"})

	dir := t.TempDir()
	bin := proc.BuildT(t, "", "./cmd/rotor")
	os.WriteFile(filepath.Join(dir, "role_id"), []byte(roleID), 0o600)
	os.WriteFile(filepath.Join(dir, "secret_id"), []byte(secretID), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := ln.Addr().String()
	ln.Close()
	out := filepath.Join(dir, "out")
	dbFile := filepath.Join(out, "db.env")
	cfg := fmt.Sprintf(`
vault { address = %q }
listener "tcp" {
  address       = %q
  enable_rotate = true
}
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = %q
      secret_id_file_path = %q
    }
  }
}
template {
  contents    = "{{ with secret \"database/creds/myapp-readonly\" }}PGUSER={{ .Data.username }}\nPGPASSWORD={{ .Data.password }}\n{{ end }}"
  destination = %q
  command     = "true"
}
template {
  contents    = "{{ with secret \"pki_int/issue/web-servers\" \"common_name=api.internal.example.com\" \"ttl=72h\" }}{{ .Data.certificate }}{{ end }}"
  destination = %q
}
template {
  contents    = "{{ with secret \"pki_int/issue/web-servers\" \"common_name=api.internal.example.com\" \"ttl=72h\" }}{{ .Data.private_key }}{{ end }}"
  destination = %q
}
template {
  contents    = "{{ with secret \"secret/app/config\" }}{{ .Data.data.api_key }}{{ end }}"
  destination = %q
  confirm { command = "true" }
}
`, srv.Addr, api, filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id"), dbFile,
		filepath.Join(out, "server.crt"), filepath.Join(out, "server.key"), filepath.Join(out, "app.key"))
	os.WriteFile(filepath.Join(dir, "rotor.hcl"), []byte(cfg), 0o600)
	var log vaulttest.Buffer
	cmd := exec.Command(bin, "agent", "-config", filepath.Join(dir, "rotor.hcl"))
	cmd.Stdout, cmd.Stderr = &log, &log
	p, err := proc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(os.Interrupt, time.Minute)
		if t.Failed() {
			t.Logf("rotor's log:\n%s", log.String())
		}
	})
	vaulttest.Eventually(t, 60*time.Second, func() error {
		resp, err := http.Get("http://" + api + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/readyz: %d", resp.StatusCode)
		}
		return nil
	})
	// The confirm block's metrics have their series once it is confirmed.
	vaulttest.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + api + "/agent/v1/status")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"confirm":"confirmed"`) {
			return fmt.Errorf("not confirmed yet")
		}
		return nil
	})
	return liveRotor{api: api, bin: bin, config: filepath.Join(dir, "rotor.hcl"), dbFile: dbFile}
}

// scrape returns one /metrics scrape's text.
func (r liveRotor) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + r.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, ct)
	}
	return string(b)
}

// TestLiveScrape checks a running rotor's /metrics against the shipped
// dashboard and alerts: it parses with Prometheus' text parser, every
// metric the dashboard and the alerts use is in it, it holds no secret,
// and a healthy rotor fires no alert.
func TestLiveScrape(t *testing.T) {
	r := startRotor(t, "1h")
	r.scrape(t) // the lease counters' baseline
	text, dbFile := r.scrape(t), r.dbFile
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Prometheus' text parser rejects /metrics: %v\n%s", err, text)
	}
	exposed := map[string]bool{}
	for name, f := range fams {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			exposed[name+"_bucket"], exposed[name+"_sum"], exposed[name+"_count"] = true, true, true
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("counter %s does not end in _total", name)
			}
			exposed[name] = true
		default:
			exposed[name] = true
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP text", name)
		}
		if len(f.GetMetric()) == 0 {
			t.Errorf("%s has no series", name)
		}
	}

	used := map[string][]string{} // metric -> where
	for _, r := range loadRules(t) {
		for _, n := range metricNames(t, r.expr) {
			used[n] = append(used[n], "alert "+r.name)
		}
	}
	for title, qs := range panelQueries(loadDashboard(t)) {
		for _, q := range qs {
			for _, n := range metricNames(t, q) {
				used[n] = append(used[n], "panel "+title)
			}
		}
	}
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !exposed[n] && !prometheusMade[n] {
			t.Errorf("%s (used by %s) is not in a live /metrics scrape", n, strings.Join(used[n], ", "))
		}
	}

	// No value rotor renders ever appears in its metrics.
	db, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, line := range strings.Split(string(db), "\n") {
		if _, v, ok := strings.Cut(line, "="); ok && v != "" {
			secrets = append(secrets, v)
		}
	}
	if len(secrets) != 2 || !strings.HasPrefix(secrets[0], "v-") {
		t.Fatalf("db.env does not hold a v- user and a password: %d values", len(secrets))
	}
	for _, s := range append(secrets, "kv-secret-value-42") {
		if strings.Contains(text, s) {
			t.Errorf("/metrics contains a rendered secret value (%d characters)", len(s))
		}
	}

	// A healthy rotor, scraped for 40 minutes, fires no alert.
	var load strings.Builder
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, s := range seriesOf(f, m) {
				fmt.Fprintf(&load, "  %s %sx40\n", s.selector, s.value)
			}
		}
	}
	load.WriteString("  up{job=\"rotor\",instance=\"app-1:8210\"} 1x40\n")
	if got := firing(t, loadRules(t), load.String()); len(got) > 0 {
		t.Errorf("a healthy rotor fires %v", got)
	}
}

type series struct{ selector, value string }

// seriesOf turns one scraped metric into promqltest load lines, with the
// job and instance labels Prometheus adds.
func seriesOf(f *dto.MetricFamily, m *dto.Metric) []series {
	labels := func(extra ...string) string {
		parts := []string{`job="rotor"`, `instance="app-1:8210"`}
		for _, l := range m.GetLabel() {
			parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		parts = append(parts, extra...)
		return "{" + strings.Join(parts, ",") + "}"
	}
	num := func(v float64) string { return fmt.Sprint(v) }
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return []series{{f.GetName() + labels(), num(m.GetCounter().GetValue())}}
	case dto.MetricType_GAUGE:
		return []series{{f.GetName() + labels(), num(m.GetGauge().GetValue())}}
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		out := []series{
			{f.GetName() + "_sum" + labels(), num(h.GetSampleSum())},
			{f.GetName() + "_count" + labels(), fmt.Sprint(h.GetSampleCount())},
			{f.GetName() + "_bucket" + labels(`le="+Inf"`), fmt.Sprint(h.GetSampleCount())},
		}
		for _, b := range h.GetBucket() {
			out = append(out, series{f.GetName() + "_bucket" + labels(fmt.Sprintf("le=%q", num(b.GetUpperBound()))), fmt.Sprint(b.GetCumulativeCount())})
		}
		return out
	}
	return nil
}

// sample returns the value of one series in a scrape ("" if absent).
func sample(text, series string) string {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestLiveLeaseCounters checks the lease counters against rotor's real
// scheduler: with 4s database leases, scrapes see renewals, none counted
// as a rotation; after rotor rotate, the certificate's rotation is counted
// and a new certificate written. (That a database lease replaced before
// its renewal was due counts as a rotation is a unit test's: here the
// renewal could fall between the same two scrapes.)
func TestLiveLeaseCounters(t *testing.T) {
	r := startRotor(t, "4s")
	r.scrape(t)
	renewals := `rotor_lease_renewals_total{engine="database"}`
	vaulttest.Eventually(t, 30*time.Second, func() error {
		text := r.scrape(t)
		if v := sample(text, `rotor_lease_rotations_total{engine="database"}`); v != "0" {
			t.Fatalf("database renewals counted as rotations: %s", v)
		}
		if v := sample(text, renewals); v == "" || v == "0" {
			return fmt.Errorf("%s = %q", renewals, v)
		}
		return nil
	})
	crt := filepath.Join(filepath.Dir(r.dbFile), "server.crt")
	before, _ := os.ReadFile(crt)
	var out vaulttest.Buffer
	cmd := exec.Command(r.bin, "rotate", "-config", r.config, "pki_int/")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("rotor rotate: %v\n%s", err, out.String())
	}
	rotations := `rotor_lease_rotations_total{engine="pki_int"}`
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if v := sample(r.scrape(t), rotations); v != "1" {
			return fmt.Errorf("%s = %q", rotations, v)
		}
		return nil
	})
	// The store holds the new certificate first; the file follows.
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if after, _ := os.ReadFile(crt); string(before) == string(after) {
			return fmt.Errorf("a rotation was counted but server.crt did not change")
		}
		return nil
	})
}
