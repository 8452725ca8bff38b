package ops

import (
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metrics holds rotor's Prometheus metrics. Counters are fed by the parts
// as things happen; gauges are computed from Status at scrape time, so
// they are never stale. Lease renewals, rotations and failures are counted
// by comparing the scheduler's status with the previous scrape's (see
// leaseEvents): the lease package reports no events of its own.
//
// Label sets stay bounded by the configuration: engine, class, template
// and secret path. Lease IDs and written values (store keys) never become
// labels.
type Metrics struct {
	status func() Status
	now    func() time.Time
	out    *exposition

	logins, renewals *counterVec
	renders, errors  *counterVec
	commands         *counterVec
	confirmFailures  *counterVec
	requests         *counterVec
	latency          *histogramVec

	leaseRenewals, leaseRotations, secretFailures *counterVec

	// mu serialises scrapes' lease comparisons: each event must be
	// counted by exactly one scrape, whichever comes first.
	mu   sync.Mutex
	prev map[string]leaseSnap
}

// NewMetrics creates every metric; status is read at each scrape.
func NewMetrics(status func() Status) *Metrics {
	out := newExposition()
	m := &Metrics{
		status:          status,
		now:             time.Now,
		out:             out,
		logins:          out.counter("rotor_logins_total", "Logins to Vault, by outcome.", "outcome"),
		renewals:        out.counter("rotor_token_renewals_total", "Token renewals, by outcome.", "outcome"),
		renders:         out.counter("rotor_template_renders_total", "Successful template renders.", "template"),
		errors:          out.counter("rotor_template_render_errors_total", "Failed template renders.", "template"),
		commands:        out.counter("rotor_reload_commands_total", "Reload commands run, by exit status (-1: did not run or timed out).", "exit_code"),
		confirmFailures: out.counter("rotor_confirm_failures_total", "Publishes whose consumer was not confirmed on the new files within the confirm timeout.", "template"),
		requests:        out.counter("rotor_vault_requests_total", "Requests to Vault, by path class and HTTP status.", "path_class", "status"),
		latency: out.histogram("rotor_vault_request_duration_seconds", "Latency of requests to Vault.",
			[]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}, "path_class"),
		leaseRenewals:  out.counter("rotor_lease_renewals_total", "Leases extended by a renewal, by engine.", "engine"),
		leaseRotations: out.counter("rotor_lease_rotations_total", "Leases and certificates replaced by a new secret, by engine.", "engine"),
		secretFailures: out.counter("rotor_secret_failures_total", "Failed attempts to renew, replace or re-read a secret, by engine.", "engine"),
	}
	// Known label values start at 0, so the first failure is an increase
	// that rate() and increase() can see, and alerts have a series to
	// compare against before anything happened.
	for _, o := range []string{"success", "failure"} {
		m.logins.add(0, o)
		m.renewals.add(0, o)
	}
	return m
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

// Confirm observes a template's consumer check: counted when the
// timeout passed without confirmation (the delay of a confirmation is a
// gauge, from Status).
func (m *Metrics) Confirm(template string, _ time.Duration, ok bool) {
	if !ok {
		m.confirmFailures.inc(template)
	}
}

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

// Write writes every metric in Prometheus text format (0.0.4).
func (m *Metrics) Write(w io.Writer) {
	s := m.status()
	now := m.now()
	m.countLeaseEvents(s, now)
	for _, t := range s.Templates {
		m.renders.add(0, t.Name)
		m.errors.add(0, t.Name)
		if t.Confirm != "" {
			m.confirmFailures.add(0, t.Name)
		}
	}
	m.out.write(w, gauges(s, now))
}

// countLeaseEvents compares the secrets with the previous scrape's and
// counts what happened in between (leaseEvents).
func (m *Metrics) countLeaseEvents(s Status, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev, next := leaseEvents(m.prev, s.Leases, now)
	m.prev = next
	for _, e := range ev.engines {
		// Every engine held gets its series at 0, so a first failure
		// is an increase Prometheus can see.
		m.leaseRenewals.add(float64(ev.renewed[e]), e)
		m.leaseRotations.add(float64(ev.rotated[e]), e)
		m.secretFailures.add(float64(ev.failed[e]), e)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
