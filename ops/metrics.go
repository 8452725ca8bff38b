package ops

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds rotor's Prometheus metrics, on a registry of its own.
// Counters are fed by the parts as things happen; gauges are computed
// from Status at scrape time, so they are never stale.
type Metrics struct {
	Registry *prometheus.Registry

	logins, renewals *prometheus.CounterVec
	renders, errors  *prometheus.CounterVec
	commands         *prometheus.CounterVec
	requests         *prometheus.CounterVec
	latency          *prometheus.HistogramVec
}

// NewMetrics registers every metric; status is read at each scrape.
func NewMetrics(status func() Status) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "rotor", Name: name, Help: help}, labels)
		m.Registry.MustRegister(c)
		return c
	}
	m.logins = counter("logins_total", "Logins to Vault, by outcome.", "outcome")
	m.renewals = counter("token_renewals_total", "Token renewals, by outcome.", "outcome")
	m.renders = counter("template_renders_total", "Successful template renders.", "template")
	m.errors = counter("template_render_errors_total", "Failed template renders.", "template")
	m.commands = counter("reload_commands_total", "Reload commands run, by exit status (-1: did not run or timed out).", "exit_code")
	m.requests = counter("vault_requests_total", "Requests to Vault, by path class and HTTP status.", "path_class", "status")
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "rotor", Name: "vault_request_duration_seconds",
		Help: "Latency of requests to Vault.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"path_class"})
	m.Registry.MustRegister(m.latency, &gauges{status: status})
	return m
}

// Auth observes a login or renewal ("login"/"renew", "success"/"failure").
func (m *Metrics) Auth(event, outcome string) {
	if event == "login" {
		m.logins.WithLabelValues(outcome).Inc()
	} else {
		m.renewals.WithLabelValues(outcome).Inc()
	}
}

// Render observes a template render.
func (m *Metrics) Render(template string, err error) {
	if err != nil {
		m.errors.WithLabelValues(template).Inc()
		return
	}
	m.renders.WithLabelValues(template).Inc()
}

// Command observes a reload command's exit status.
func (m *Metrics) Command(code int) { m.commands.WithLabelValues(strconv.Itoa(code)).Inc() }

// Request observes one Vault request.
func (m *Metrics) Request(path string, status int, d time.Duration) {
	class := PathClass(path)
	m.requests.WithLabelValues(class, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(class).Observe(d.Seconds())
}

// PathClass groups Vault API paths into a few classes, so the metric's
// cardinality stays small whatever secrets are read.
func PathClass(p string) string {
	p = strings.TrimPrefix(p, "/v1/")
	switch {
	case strings.HasPrefix(p, "auth/token/"):
		return "token"
	case strings.HasPrefix(p, "auth/"):
		return "login"
	case strings.HasPrefix(p, "sys/leases/"), strings.HasPrefix(p, "sys/renew"), strings.HasPrefix(p, "sys/revoke"):
		return "lease"
	case strings.HasPrefix(p, "sys/internal/ui/mounts"):
		return "mount_lookup"
	case strings.HasPrefix(p, "sys/wrapping/"):
		return "wrapping"
	case strings.HasPrefix(p, "sys/"):
		return "sys"
	}
	return "secret"
}

// gauges computes the gauges from Status at scrape time.
type gauges struct{ status func() Status }

var (
	descAuthenticated = prometheus.NewDesc("rotor_authenticated", "1 when rotor holds a valid token.", nil, nil)
	descLeases        = prometheus.NewDesc("rotor_leases", "Secrets held, by engine (the path's mount).", []string{"engine"}, nil)
	descExpiry        = prometheus.NewDesc("rotor_secret_expiry_seconds", "Seconds until the earliest expiry among the secrets a template uses.", []string{"template"}, nil)
	descTokenTTL      = prometheus.NewDesc("rotor_token_ttl_seconds", "Seconds until the token expires (0: never).", nil, nil)
	descRendered      = prometheus.NewDesc("rotor_template_rendered", "1 when the template has been written at least once.", []string{"template"}, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAuthenticated, descLeases, descExpiry, descTokenTTL, descRendered} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	s := g.status()
	ch <- prometheus.MustNewConstMetric(descAuthenticated, prometheus.GaugeValue, b2f(s.Authenticated))
	if s.Token != nil {
		ch <- prometheus.MustNewConstMetric(descTokenTTL, prometheus.GaugeValue, float64(s.Token.TTLSeconds))
	}
	byEngine := map[string]int{}
	expires := map[string]time.Time{}
	for _, l := range s.Leases {
		byEngine[l.Engine]++
		if !l.Expires.IsZero() {
			expires[l.Key] = l.Expires
		}
	}
	for e, n := range byEngine {
		ch <- prometheus.MustNewConstMetric(descLeases, prometheus.GaugeValue, float64(n), e)
	}
	now := time.Now()
	for _, t := range s.Templates {
		ch <- prometheus.MustNewConstMetric(descRendered, prometheus.GaugeValue, b2f(t.Rendered), t.Name)
		var earliest time.Time
		for _, k := range t.Secrets {
			if e, ok := expires[k]; ok && (earliest.IsZero() || e.Before(earliest)) {
				earliest = e
			}
		}
		if !earliest.IsZero() {
			ch <- prometheus.MustNewConstMetric(descExpiry, prometheus.GaugeValue, earliest.Sub(now).Seconds(), t.Name)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
