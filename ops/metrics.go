package ops

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// Metrics holds rotor's Prometheus metrics. Counters are fed by the parts
// as things happen; gauges are computed from Status at scrape time, so
// they are never stale.
type Metrics struct {
	status func() Status

	logins, renewals *counterVec
	renders, errors  *counterVec
	commands         *counterVec
	requests         *counterVec
	latency          *histogramVec
}

// NewMetrics creates every metric; status is read at each scrape.
func NewMetrics(status func() Status) *Metrics {
	return &Metrics{
		status:   status,
		logins:   newCounterVec("rotor_logins_total", "Logins to Vault, by outcome.", "outcome"),
		renewals: newCounterVec("rotor_token_renewals_total", "Token renewals, by outcome.", "outcome"),
		renders:  newCounterVec("rotor_template_renders_total", "Successful template renders.", "template"),
		errors:   newCounterVec("rotor_template_render_errors_total", "Failed template renders.", "template"),
		commands: newCounterVec("rotor_reload_commands_total", "Reload commands run, by exit status (-1: did not run or timed out).", "exit_code"),
		requests: newCounterVec("rotor_vault_requests_total", "Requests to Vault, by path class and HTTP status.", "path_class", "status"),
		latency: newHistogramVec("rotor_vault_request_duration_seconds", "Latency of requests to Vault.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "path_class"),
	}
}

// Auth observes a login or renewal ("login"/"renew", "success"/"failure").
func (m *Metrics) Auth(event, outcome string) {
	if event == "login" {
		m.logins.inc(outcome)
	} else {
		m.renewals.inc(outcome)
	}
}

// Render observes a template render.
func (m *Metrics) Render(template string, err error) {
	if err != nil {
		m.errors.inc(template)
		return
	}
	m.renders.inc(template)
}

// Command observes a reload command's exit status.
func (m *Metrics) Command(code int) { m.commands.inc(strconv.Itoa(code)) }

// Request observes one Vault request.
func (m *Metrics) Request(path string, status int, d time.Duration) {
	class := PathClass(path)
	m.requests.inc(class, strconv.Itoa(status))
	m.latency.observe(d.Seconds(), class)
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

// Write writes every metric in Prometheus text format.
func (m *Metrics) Write(w io.Writer) {
	s := m.status()
	gauge(w, "rotor_authenticated", "1 when rotor holds a valid token.", nil, map[string]float64{"": b2f(s.Authenticated)})
	if s.Token != nil {
		gauge(w, "rotor_token_ttl_seconds", "Seconds until the token expires (0: never).", nil, map[string]float64{"": float64(s.Token.TTLSeconds)})
	}
	byEngine := map[string]float64{}
	expires := map[string]time.Time{}
	for _, l := range s.Leases {
		byEngine[l.Engine]++
		if !l.Expires.IsZero() {
			expires[l.Key] = l.Expires
		}
	}
	gauge(w, "rotor_leases", "Secrets held, by engine (the path's mount).", []string{"engine"}, byEngine)
	rendered, expiry := map[string]float64{}, map[string]float64{}
	now := time.Now()
	for _, t := range s.Templates {
		rendered[t.Name] = b2f(t.Rendered)
		var earliest time.Time
		for _, k := range t.Secrets {
			if e, ok := expires[k]; ok && (earliest.IsZero() || e.Before(earliest)) {
				earliest = e
			}
		}
		if !earliest.IsZero() {
			expiry[t.Name] = earliest.Sub(now).Seconds()
		}
	}
	gauge(w, "rotor_template_rendered", "1 when the template has been written at least once.", []string{"template"}, rendered)
	gauge(w, "rotor_secret_expiry_seconds", "Seconds until the earliest expiry among the secrets a template uses.", []string{"template"}, expiry)
	for _, c := range []*counterVec{m.logins, m.renewals, m.renders, m.errors, m.commands, m.requests} {
		c.write(w)
	}
	m.latency.write(w)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
