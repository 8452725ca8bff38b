package fleet

import (
	"slices"
	"strings"
	"time"
)

// stats are one fleet's numbers, computed from its run and the audit log.
type stats struct {
	k     kind
	n     int
	rssMB float64 // mean over agents of each one's largest steady sample

	// Steady window.
	steadyLen    time.Duration
	steadyReqs   int
	perAgent     []float64          // requests per agent per 300s, sorted
	byClass      map[string]float64 // mean requests per agent per 300s, by class
	steadyPeak   int                // largest 1s bucket
	steadyPeakAt time.Duration      // its start, since the fleet's start
	steadyPeakBy map[string]int     // its requests by class
	failed       map[string]int     // failed agent requests by phase: storm, steady, minute after
	connMean     float64
	connMax      int
	unattributed int // agent requests in the window whose agent is unknown

	// Deploy storm, from the first process start.
	spawnSpread  time.Duration
	logins       []time.Duration // each agent's first login, sorted
	loginLag     []time.Duration // each agent's first login after its own process start, sorted
	fetched      []time.Duration // when each agent had made its first fetch of every secret, sorted
	firstFetches []time.Duration // every agent's first request of each secret, sorted
	rendered     time.Duration
	stormPeak1s  int

	// Outage.
	downFor       time.Duration
	minuteReqs    int             // requests in the minute after Vault came back
	minuteByClass map[string]int  // of those, by class
	peakAfter     int             // largest 1s bucket in that minute
	peakAt        time.Duration   // its start, after Vault came back
	peakByClass   map[string]int  // the peak second by class
	firstAfter    []time.Duration // each agent's first request after Vault came back, sorted
	newDB         []time.Duration // each agent's first database fetch after it came back, sorted
	newCert       []time.Duration // each agent's first certificate issue after it came back, sorted
	alive, ready  int
	lastReady     time.Duration
	loginsAfter   int // logins after Vault came back (the tokens were valid for 1h)
	dbValid       int // database leases still valid when Vault came back
	dbCapped      int // of those, at their max TTL: replacing them is due
	dbReplaced    int // of the others, fetched anew before they expired
	certValid     int // certificates still valid when Vault came back
	dbFetchMin    int // database credential fetches per agent in the minute after
	dbFetchMax    int
	usersBefore   int
	usersAfter    int
	leasesUnknown int
}

// window300 is the window the per-agent request goal is stated in.
const window300 = 300 * time.Second

func computeStats(r *fleetRun, reqs []request) *stats {
	s := &stats{k: r.k, n: len(r.agents), spawnSpread: r.spawnSpread, rendered: r.rendered.Sub(r.start),
		connMax: r.connMax, downFor: r.back.Sub(r.down), alive: r.aliveAfter,
		usersBefore: r.usersBefore, usersAfter: r.usersAfter, leasesUnknown: r.leasesUnknown}
	mine := func(q request) bool { return strings.HasPrefix(q.agent, r.k.prefix) || q.agent == "" }
	filter := func(qs []request) []request {
		var out []request
		for _, q := range qs {
			if mine(q) {
				out = append(out, q)
			}
		}
		return out
	}
	for i := range r.agents {
		s.rssMB += float64(r.rssKB[i]) / 1024 / float64(s.n)
		s.connMean += r.connMean[i] / float64(s.n)
	}

	// Steady window, scaled to 300s when it is shorter (trial runs).
	steady := filter(between(reqs, r.steadyStart, r.steadyEnd))
	s.steadyLen = r.steadyEnd.Sub(r.steadyStart)
	scale := window300.Seconds() / s.steadyLen.Seconds()
	s.steadyReqs = len(steady)
	count := map[string]int{}
	s.byClass = map[string]float64{}
	for _, q := range steady {
		if q.agent == "" {
			s.unattributed++
		}
		count[q.agent]++
		s.byClass[q.class] += scale / float64(s.n)
	}
	for _, a := range r.agents {
		s.perAgent = append(s.perAgent, float64(count[a.name])*scale)
	}
	slices.Sort(s.perAgent)
	sb := perSecond(steady, r.steadyStart, int(s.steadyLen/time.Second))
	pi := slices.Index(sb, slices.Max(sb))
	s.steadyPeak = sb[pi]
	peakStart := r.steadyStart.Add(time.Duration(pi) * time.Second)
	s.steadyPeakAt = peakStart.Sub(r.start)
	s.steadyPeakBy = countClasses(between(steady, peakStart, peakStart.Add(time.Second)))
	s.failed = map[string]int{}

	// Deploy storm: each agent's first login and first fetch of each secret.
	storm := filter(between(reqs, r.start, r.steadyStart))
	first := map[string]map[string]time.Duration{}
	for _, q := range storm {
		if q.agent == "" {
			continue
		}
		if first[q.agent] == nil {
			first[q.agent] = map[string]time.Duration{}
		}
		if _, ok := first[q.agent][q.class]; !ok {
			first[q.agent][q.class] = q.at.Sub(r.start)
		}
	}
	for _, a := range r.agents {
		f := first[a.name]
		if d, ok := f[classLogin]; ok {
			s.logins = append(s.logins, d)
			s.loginLag = append(s.loginLag, d-a.spawn.Sub(r.start))
		}
		var last time.Duration
		all := true
		for _, c := range []string{classDB, classPKI, classKV} {
			d, ok := f[c]
			if !ok {
				all = false
				continue
			}
			s.firstFetches = append(s.firstFetches, d)
			last = max(last, d)
		}
		if all {
			s.fetched = append(s.fetched, last)
		}
	}
	slices.Sort(s.logins)
	slices.Sort(s.loginLag)
	slices.Sort(s.fetched)
	slices.Sort(s.firstFetches)
	s.stormPeak1s = slices.Max(perSecond(storm, r.start, int(r.steadyStart.Sub(r.start)/time.Second)))

	// The minute after Vault came back.
	minute := filter(between(reqs, r.back, r.back.Add(time.Minute)))
	s.minuteReqs = len(minute)
	s.minuteByClass = countClasses(minute)
	fetches := map[string]int{}
	for _, q := range minute {
		if q.class == classDB {
			fetches[q.agent]++
		}
	}
	for phase, qs := range map[string][]request{"storm": storm, "steady": steady, "minute after": minute} {
		for _, q := range qs {
			if q.failed {
				s.failed[phase]++
			}
		}
	}
	buckets := perSecond(minute, r.back, 60)
	i := slices.Index(buckets, slices.Max(buckets))
	s.peakAfter, s.peakAt = buckets[i], time.Duration(i)*time.Second
	s.peakByClass = countClasses(between(minute, r.back.Add(s.peakAt), r.back.Add(s.peakAt+time.Second)))
	s.dbFetchMin = len(minute)
	for _, a := range r.agents {
		s.dbFetchMin = min(s.dbFetchMin, fetches[a.name])
		s.dbFetchMax = max(s.dbFetchMax, fetches[a.name])
	}
	// after is sorted by time, so each list below is too.
	after := filter(between(reqs, r.back, r.end))
	seen := map[string]bool{} // agent, and agent + " " + class
	for _, q := range after {
		d := q.at.Sub(r.back)
		switch key := q.agent + " " + q.class; {
		case q.class == classLogin:
			s.loginsAfter++
		case q.class == classDB && !seen[key]:
			s.newDB = append(s.newDB, d)
			seen[key] = true
		case q.class == classPKI && !seen[key]:
			s.newCert = append(s.newCert, d)
			seen[key] = true
		}
		if !seen[q.agent] {
			s.firstAfter = append(s.firstAfter, d)
			seen[q.agent] = true
		}
	}
	for i, a := range r.agents {
		if d := r.readyAt[i]; d >= 0 {
			s.ready++
			s.lastReady = max(s.lastReady, d)
		}
		b := r.before[i]
		if b.leaseEnd.After(r.back) {
			s.dbValid++
			if b.capped {
				s.dbCapped++
				continue
			}
			for _, q := range between(reqs, r.down, b.leaseEnd) {
				if q.agent == a.name && q.class == classDB {
					s.dbReplaced++
					break
				}
			}
		}
		// A certificate is re-issued on a timer whether Vault was down
		// or not; only how many were still valid is of interest.
		if b.certEnd.After(r.back) {
			s.certValid++
		}
	}
	return s
}

func countClasses(qs []request) map[string]int {
	m := map[string]int{}
	for _, q := range qs {
		m[q.class]++
	}
	return m
}

// quantile of sorted durations (q in [0,1]); 0 when empty.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[int(q*float64(len(d)-1)+0.5)]
}

func quantileF(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[int(q*float64(len(v)-1)+0.5)]
}

func mean(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x
	}
	return sum / float64(max(len(v), 1))
}

// steadyRate is the fleet's mean requests per second in the steady window.
func (s *stats) steadyRate() float64 { return float64(s.steadyReqs) / s.steadyLen.Seconds() }
