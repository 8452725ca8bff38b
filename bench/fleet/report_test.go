package fleet

import (
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// stormBucket is the storm histogram's resolution; stormSpan its length.
const (
	stormBucket = 100 * time.Millisecond
	stormSpan   = 10 * time.Second
)

// writeRateCSV writes fleet.csv: for each second since each fleet's
// start, the requests Vault received from it, in total and per agent.
func writeRateCSV(path string, runs []*fleetRun, reqs []request) error {
	var series [][]int
	n := 0
	for _, r := range runs {
		secs := int(r.end.Sub(r.start)/time.Second) + 1
		var mine []request
		for _, q := range between(reqs, r.start, r.end) {
			if strings.HasPrefix(q.agent, r.k.prefix) || q.agent == "" {
				mine = append(mine, q)
			}
		}
		series = append(series, perSecond(mine, r.start, secs))
		n = max(n, secs)
	}
	var b strings.Builder
	b.WriteString("t_s")
	for _, r := range runs {
		name := strings.ReplaceAll(strings.ToLower(r.k.name), " ", "_")
		fmt.Fprintf(&b, ",%s_rps,%s_rps_per_agent", name, name)
	}
	b.WriteString("\n")
	for i := range n {
		fmt.Fprintf(&b, "%d", i)
		for j, r := range runs {
			if i < len(series[j]) {
				fmt.Fprintf(&b, ",%d,%.4f", series[j][i], float64(series[j][i])/float64(len(r.agents)))
			} else {
				b.WriteString(",,")
			}
		}
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeStormCSV writes storm.csv: per 100ms after each fleet's start, the
// share of its agents that logged in, and that made a first fetch of a
// secret (three per agent), in percent.
func writeStormCSV(path string, ss []*stats) error {
	n := int(stormSpan / stormBucket)
	hist := func(ds []time.Duration, per int) []float64 {
		out := make([]float64, n)
		for _, d := range ds {
			if i := int(d / stormBucket); i < n {
				out[i] += 100 / float64(per)
			}
		}
		return out
	}
	var b strings.Builder
	b.WriteString("t_ms")
	var cols [][]float64
	for _, s := range ss {
		name := strings.ReplaceAll(strings.ToLower(s.k.name), " ", "_")
		fmt.Fprintf(&b, ",%s_logins_pct,%s_first_fetches_pct", name, name)
		cols = append(cols, hist(s.logins, s.n), hist(s.firstFetches, 3*s.n))
	}
	b.WriteString("\n")
	for i := range n {
		fmt.Fprintf(&b, "%d", i*int(stormBucket/time.Millisecond))
		for _, c := range cols {
			fmt.Fprintf(&b, ",%.2f", c[i])
		}
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeRequests writes requests.csv.gz: every agent request, with its
// offset from its fleet's start, for looking at what happened when.
func writeRequests(path string, runs []*fleetRun, reqs []request) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	z := gzip.NewWriter(f)
	fmt.Fprintln(z, "fleet,t_s,agent,class,path")
	for _, r := range runs {
		for _, q := range between(reqs, r.start, r.end) {
			if strings.HasPrefix(q.agent, r.k.prefix) || q.agent == "" {
				fmt.Fprintf(z, "%s,%.3f,%s,%s,%s\n", r.k.prefix, q.at.Sub(r.start).Seconds(), q.agent, q.class, q.path)
			}
		}
	}
	if err := z.Close(); err != nil {
		return err
	}
	return f.Close()
}

// plot draws fleet.png with gnuplot: requests per second per 100 agents
// over time for each fleet side by side (steady window and outage
// shaded, 2x the steady rate dashed), and the deploy storms below.
func plot(dir string, runs []*fleetRun, ss []*stats) error {
	if _, err := exec.LookPath("gnuplot"); err != nil {
		return fmt.Errorf("no gnuplot (apt-get install gnuplot-nox): %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `set terminal pngcairo size 1600,1000 font "sans,11"
set output %q
set datafile separator ","
set key top right
set grid ytics
set multiplot layout 2,2 title "rotor and Vault Agent fleets on one Vault (%s, 2 cores)"
`, "fleet.png", time.Now().Format("2006-01-02"))
	// The y axis fits the steady and outage peaks; a taller storm is
	// clipped and its peak printed.
	ymax := 0.0
	for _, s := range ss {
		ymax = max(ymax, 100*float64(s.steadyPeak)/float64(s.n), 100*float64(s.peakAfter)/float64(s.n), 200*s.steadyRate()/float64(s.n))
	}
	ymax *= 1.3
	stormEnd := time.Second
	for _, s := range ss {
		stormEnd = max(stormEnd, quantile(s.fetched, 1)+stormBucket)
	}
	for i, r := range runs {
		s := ss[i]
		off := func(t time.Time) float64 { return t.Sub(r.start).Seconds() }
		fmt.Fprintf(&b, `unset object
set object 1 rect from %.0f, graph 0 to %.0f, graph 1 fillcolor rgb "#e8f0ff" fillstyle solid noborder behind
set object 2 rect from %.0f, graph 0 to %.0f, graph 1 fillcolor rgb "#dddddd" fillstyle solid noborder behind
set label 1 "storm peak: %.0f" at 3, %.0f front
set title "%s, N = %d: requests per second per 100 agents (blue: steady window, grey: Vault stopped)"
set xlabel "seconds since the %d agents were started"
set ylabel "requests/s per 100 agents"
set yrange [0:%.0f]
set xrange [0:%.0f]
plot %q using 1:(100*column(%d)) with steps lw 1.5 lc rgb "%s" title "%s", %.3f with lines dt 2 lc rgb "black" title "2 x steady rate"
`, off(r.steadyStart), off(r.steadyEnd), off(r.down), off(r.back), 100*float64(s.stormPeak1s)/float64(s.n), ymax*0.95,
			r.k.name, s.n, s.n, ymax, off(r.end),
			"fleet.csv", 3+2*i, color(i), r.k.name, 200*s.steadyRate()/float64(s.n))
	}
	b.WriteString("unset object\nunset label\n")
	for i, s := range ss {
		fmt.Fprintf(&b, `set title "%s, N = %d: deploy storm, all agents started at 0 s (%% of agents per 100 ms)"
set xlabel "seconds since start"
set ylabel "%% of agents per 100 ms"
set yrange [0:*]
set xrange [0:%.1f]
set style fill solid 0.5
plot %q using ($1/1000):%d with boxes lc rgb "%s" title "login", "" using ($1/1000):%d with steps lw 2 lc rgb "black" title "first fetch of a secret"
`, s.k.name, s.n, stormEnd.Seconds(), "storm.csv", 2+2*i, color(i), 3+2*i)
	}
	b.WriteString("unset multiplot\n")
	script := filepath.Join(dir, "fleet.gp")
	if err := os.WriteFile(script, []byte(b.String()), 0o644); err != nil {
		return err
	}
	// Relative names, so fleet.gp redraws the chart from the committed
	// CSVs: cd bench/fleet/results && gnuplot fleet.gp
	cmd := exec.Command("gnuplot", "fleet.gp")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gnuplot: %v\n%s", err, out)
	}
	return nil
}

func color(i int) string { return []string{"#1f6fd0", "#d0601f"}[i%2] }

// summary is the table of bench/fleet/README.md (and results/summary.md):
// one row per measure, one column per fleet.
func summary(ss []*stats, header string) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("\n\n| measure |")
	for _, s := range ss {
		fmt.Fprintf(&b, " %s |", s.k.name)
	}
	b.WriteString("\n|---|")
	for range ss {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	row := func(name string, f func(s *stats) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, s := range ss {
			fmt.Fprintf(&b, " %s |", f(s))
		}
		b.WriteString("\n")
	}
	sec := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
	row("agents (N)", func(s *stats) string { return fmt.Sprint(s.n) })
	row("resident memory per agent (steady)", func(s *stats) string { return fmt.Sprintf("%.0f MB", s.rssMB) })
	row("**steady: requests per agent per 300 s** (mean; min / median / max)", func(s *stats) string {
		return fmt.Sprintf("**%.1f**; %.0f / %.0f / %.0f", mean(s.perAgent), s.perAgent[0], quantileF(s.perAgent, 0.5), s.perAgent[len(s.perAgent)-1])
	})
	for _, c := range classes {
		if slices.ContainsFunc(ss, func(s *stats) bool { return s.byClass[c] > 0 }) {
			row("&nbsp;&nbsp;of which "+c, func(s *stats) string { return fmt.Sprintf("%.1f", s.byClass[c]) })
		}
	}
	row("steady: fleet rate, mean; largest 1 s (when, what)", func(s *stats) string {
		return fmt.Sprintf("%.1f req/s; %d req = %.1fx (at %.0f s: %s)", s.steadyRate(), s.steadyPeak,
			float64(s.steadyPeak)/s.steadyRate(), s.steadyPeakAt.Seconds(), byClass(s.steadyPeakBy))
	})
	row("**steady: established connections to Vault per agent** (mean; max)", func(s *stats) string {
		return fmt.Sprintf("**%.2f**; %d", s.connMean, s.connMax)
	})
	row("storm: processes started within", func(s *stats) string { return sec(s.spawnSpread) })
	row("storm: first login after start (p50 / p90 / last)", func(s *stats) string {
		return fmt.Sprintf("%s / %s / %s", sec(quantile(s.logins, .5)), sec(quantile(s.logins, .9)), sec(quantile(s.logins, 1)))
	})
	row("storm: first login after the agent's own start (p50 / p90 / last)", func(s *stats) string {
		return fmt.Sprintf("%s / %s / %s", sec(quantile(s.loginLag, .5)), sec(quantile(s.loginLag, .9)), sec(quantile(s.loginLag, 1)))
	})
	row("storm: agent has fetched every secret (p50 / p90 / last)", func(s *stats) string {
		return fmt.Sprintf("%s / %s / %s", sec(quantile(s.fetched, .5)), sec(quantile(s.fetched, .9)), sec(quantile(s.fetched, 1)))
	})
	row("storm: every file of every agent written", func(s *stats) string { return sec(s.rendered) })
	row("storm: largest 1 s, per agent", func(s *stats) string {
		return fmt.Sprintf("%d req (%.2f per agent)", s.stormPeak1s, float64(s.stormPeak1s)/float64(s.n))
	})
	row("failed requests (Vault answered an error): storm / steady / minute after the outage", func(s *stats) string {
		return fmt.Sprintf("%d / %d / %d", s.failed["storm"], s.failed["steady"], s.failed["minute after"])
	})
	row("outage: Vault down (stop -> active again)", func(s *stats) string { return sec(s.downFor) })
	row("**outage: largest 1 s in the minute after / steady mean** (goal <= 2.5x)", func(s *stats) string {
		return fmt.Sprintf("**%.1fx** (%d req at +%.0f s vs %.1f req/s)", float64(s.peakAfter)/s.steadyRate(), s.peakAfter, s.peakAt.Seconds(), s.steadyRate())
	})
	row("outage: that peak second by class", func(s *stats) string { return byClass(s.peakByClass) })
	row("outage: requests in the minute after, per agent", func(s *stats) string {
		return fmt.Sprintf("%.1f (%s)", float64(s.minuteReqs)/float64(s.n), byClass(s.minuteByClass))
	})
	after := func(d []time.Duration) string {
		if len(d) == 0 {
			return "none"
		}
		return fmt.Sprintf("%s / %s / %s", sec(quantile(d, .5)), sec(quantile(d, .9)), sec(quantile(d, 1)))
	}
	row("outage: after Vault is back, each agent's first request (p50 / p90 / last)", func(s *stats) string { return after(s.firstAfter) })
	row("outage: after Vault is back, new DB credentials (p50 / p90 / last)", func(s *stats) string { return after(s.newDB) })
	row("outage: after Vault is back, new certificate (p50 / p90 / last)", func(s *stats) string { return after(s.newCert) })
	row("**outage: agents that gave up** (exited)", func(s *stats) string { return fmt.Sprintf("**%d** of %d", s.n-s.alive, s.n) })
	row("outage: agents ready again (new lease and cert; rotor: /readyz 200); last after", func(s *stats) string {
		return fmt.Sprintf("%d of %d; %s", s.ready, s.n, sec(s.lastReady))
	})
	row("outage: logins after Vault came back (tokens valid for 1 h)", func(s *stats) string { return fmt.Sprint(s.loginsAfter) })
	row("**outage: valid leases replaced** (of DB leases still valid at return and below max TTL)", func(s *stats) string {
		return fmt.Sprintf("**%d** of %d", s.dbReplaced, s.dbValid-s.dbCapped)
	})
	row("outage: DB leases at max TTL / certificates still valid at return", func(s *stats) string {
		return fmt.Sprintf("%d / %d", s.dbCapped, s.certValid)
	})
	row("outage: DB credential fetches per agent in the minute after (min / max)", func(s *stats) string {
		return fmt.Sprintf("%d / %d", s.dbFetchMin, s.dbFetchMax)
	})
	row("outage: DB users at stop -> end of observation", func(s *stats) string {
		return fmt.Sprintf("%d -> %d", s.usersBefore, s.usersAfter)
	})
	return b.String()
}

// byClass prints counts by class, largest first.
func byClass(m map[string]int) string {
	var cs []string
	for c := range m {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b string) int { return m[b] - m[a] })
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
	}
	return strings.Join(parts, ", ")
}
