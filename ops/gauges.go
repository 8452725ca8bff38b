package ops

import (
	"sort"
	"strings"
	"time"

	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

// family is one metric family computed at scrape time: a gauge with its
// samples.
type family struct {
	name, help string
	labels     []string
	samples    []sample
}

// sample is one series of a family: its label values, in the family's
// label order, and its value.
type sample struct {
	values []string
	value  float64
	key    string // values joined, for sorting
}

// gaugeSet collects samples by joined label values, so several secrets
// or templates that share a label set fold into one series.
type gaugeSet struct {
	family
	index map[string]int
}

func newGauge(name, help string, labels ...string) *gaugeSet {
	return &gaugeSet{family: family{name: name, help: help, labels: labels}, index: map[string]int{}}
}

// set stores v for the label values; fold decides the value when the
// series already has one (nil: the new value wins).
func (g *gaugeSet) set(v float64, fold func(old, new float64) float64, values ...string) {
	k := strings.Join(values, "\x00")
	if i, ok := g.index[k]; ok {
		if fold != nil {
			g.samples[i].value = fold(g.samples[i].value, v)
		} else {
			g.samples[i].value = v
		}
		return
	}
	g.index[k] = len(g.samples)
	g.samples = append(g.samples, sample{values: values, value: v, key: k})
}

func (g *gaugeSet) done() family {
	sort.Slice(g.samples, func(i, j int) bool { return g.samples[i].key < g.samples[j].key })
	return g.family
}

func sum(a, b float64) float64     { return a + b }
func minimum(a, b float64) float64 { return min(a, b) }
func maximum(a, b float64) float64 { return max(a, b) }

// secretLabel names a secret for a label: its path without the written
// keys lease.Status adds (" (common_name,ttl)"). Bounded by the
// configuration, unlike lease IDs.
func secretLabel(l lease.Status) string {
	p, _, _ := strings.Cut(l.Path, " (")
	return p
}

// secretState is a secret's state for rotor_secrets: expired when its
// lease or certificate has ended, failing when rotor's last attempt to
// keep it failed, ok otherwise.
func secretState(l lease.Status, now time.Time) string {
	switch {
	case !l.Expires.IsZero() && !now.Before(l.Expires):
		return "expired"
	case l.LastError != "":
		return "failing"
	}
	return "ok"
}

// gauges computes every gauge from s at now.
func gauges(s Status, now time.Time) []family {
	auth := newGauge("rotor_authenticated", "1 when rotor holds a valid token.")
	auth.set(b2f(s.Authenticated), nil)
	out := []family{auth.done()}
	if s.Token != nil {
		ttl := newGauge("rotor_token_ttl_seconds", "Seconds until the token expires (0: never).")
		ttl.set(float64(s.Token.TTLSeconds), nil)
		out = append(out, ttl.done())
	}

	byEngine := newGauge("rotor_leases", "Secrets held, by engine (the path's mount).", "engine")
	byState := newGauge("rotor_secrets", "Secrets held, by engine, class (lease, cert, static, rotating) and state (ok, failing, expired).", "engine", "class", "state")
	expiry := newGauge("rotor_lease_expiry_seconds", "Seconds until a lease or certificate ends, per secret path (the earliest when several are held at one path).", "engine", "class", "secret")
	failing := newGauge("rotor_lease_failing", "1 when rotor's last attempt to renew or replace a lease or certificate failed, per secret path.", "engine", "class", "secret")
	// The error classes travel with the errors (vaulterr, template): this
	// counts what is failing now by class, so an alert or a panel can
	// tell a denied policy from an unreachable Vault.
	byClass := newGauge("rotor_failing", "Secrets, templates and reload commands whose last attempt failed, by part (secret, template, command) and error class.", "part", "error_class")
	expires := map[string]time.Time{}
	for _, l := range s.Leases {
		if e := leaseError(l); e != nil {
			byClass.set(1, sum, "secret", e.Class)
		}
		byEngine.set(1, sum, l.Engine)
		byState.set(1, sum, l.Engine, l.Class, secretState(l, now))
		if l.Expires.IsZero() {
			continue
		}
		expires[l.Key] = l.Expires
		name := secretLabel(l)
		expiry.set(l.Expires.Sub(now).Seconds(), minimum, l.Engine, l.Class, name)
		failing.set(b2f(l.LastError != ""), maximum, l.Engine, l.Class, name)
	}
	out = append(out, byEngine.done(), byState.done(), expiry.done(), failing.done())

	rendered := newGauge("rotor_template_rendered", "1 when the template has been written at least once.", "template")
	earliest := newGauge("rotor_secret_expiry_seconds", "Seconds until the earliest expiry among the secrets a template uses.", "template")
	lastRender := newGauge("rotor_template_last_render_timestamp_seconds", "Unix time of the template's last successful render.", "template")
	failures := newGauge("rotor_template_failures", "Consecutive failed renders of the template (0 after a success).", "template")
	exit := newGauge("rotor_template_command_exit_code", "Exit status of the template's last reload command (-1: did not run or timed out).", "template")
	unconf := newGauge("rotor_unconfirmed", "1 when the template's consumer was not confirmed on its last publish within the confirm timeout (templates with a confirm block).", "template")
	confirmDur := newGauge("rotor_confirm_duration_seconds", "Seconds from the template's publish to its consumer's confirmation, the last time.", "template")
	for _, t := range s.Templates {
		if e := templateError(t); e != nil {
			byClass.set(1, sum, "template", e.Class)
		}
		if commandFailed(t) {
			byClass.set(1, sum, "command", ClassCommandFailed)
		}
		rendered.set(b2f(t.Rendered), nil, t.Name)
		failures.set(float64(t.Failures), nil, t.Name)
		if !t.LastRender.IsZero() {
			lastRender.set(float64(t.LastRender.UnixMilli())/1e3, nil, t.Name)
		}
		if t.CommandExit != nil {
			exit.set(float64(*t.CommandExit), nil, t.Name)
		}
		if t.Confirm != "" {
			unconf.set(b2f(t.Confirm == template.ConfirmUnconfirmed), nil, t.Name)
		}
		if !t.ConfirmedAt.IsZero() {
			confirmDur.set(t.ConfirmSeconds, nil, t.Name)
		}
		for _, k := range t.Secrets {
			if e, ok := expires[k]; ok {
				earliest.set(e.Sub(now).Seconds(), minimum, t.Name)
			}
		}
	}
	held := newGauge("rotor_held_leases", "Superseded leases kept alive (renewed, never revoked) until their consumers are confirmed on the new ones.")
	held.set(float64(len(s.Held)), nil)
	return append(out, rendered.done(), earliest.done(), lastRender.done(), failures.done(), exit.done(), unconf.done(), confirmDur.done(),
		held.done(), byClass.done())
}

// leaseSnap is what a scrape remembers of one secret, to tell at the
// next scrape what happened in between.
type leaseSnap struct {
	expires    time.Time
	nextAction string
	nextAt     time.Time
	lastError  string
}

// leaseCounts are the events seen between two scrapes, by engine.
type leaseCounts struct {
	engines                  []string // every engine held now, sorted
	renewed, rotated, failed map[string]int
}

// leaseEvents compares the secrets held now with the previous scrape's
// (keyed by store key, which never leaves this process) and returns the
// events in between, and the snapshot for the next comparison:
//
//   - renewed: a lease whose renewal was due by now ends at another time,
//     without an error;
//   - rotated: any other lease or certificate that now ends at another
//     time, without an error (a new secret replaced the old one, because
//     renewal could not extend it, or early: rotor rotate, a new token);
//   - failed: a secret whose last attempt failed and was retried since,
//     or that newly failed.
//
// A scrape sees states, not events: two renewals of one lease between two
// scrapes count as one. rotor renews at 2/3 of a lease's life and retries
// failures with a backoff of at least a second, so with a scrape interval
// well under a lease's TTL, only fast retries are undercounted.
func leaseEvents(prev map[string]leaseSnap, cur []lease.Status, now time.Time) (leaseCounts, map[string]leaseSnap) {
	c := leaseCounts{renewed: map[string]int{}, rotated: map[string]int{}, failed: map[string]int{}}
	next := make(map[string]leaseSnap, len(cur))
	seen := map[string]bool{}
	for _, l := range cur {
		if !seen[l.Engine] {
			seen[l.Engine] = true
			c.engines = append(c.engines, l.Engine)
		}
		next[l.Key] = leaseSnap{expires: l.Expires, nextAction: l.NextAction, nextAt: l.NextAt, lastError: l.LastError}
		p, ok := prev[l.Key]
		if !ok {
			continue // new since the last scrape: its first fetch is no event
		}
		switch {
		case l.LastError != "":
			if p.lastError == "" || !l.NextAt.Equal(p.nextAt) {
				c.failed[l.Engine]++
			}
		case !l.Expires.IsZero() && !l.Expires.Equal(p.expires):
			// A renewal happens when it is due; a lease that changed
			// before its renewal was due was replaced (rotor rotate, or
			// a re-fetch ahead of its token's death).
			if l.Class == "lease" && p.nextAction == "renew" && !now.Before(p.nextAt) {
				c.renewed[l.Engine]++
			} else {
				c.rotated[l.Engine]++
			}
		}
	}
	sort.Strings(c.engines)
	return c, next
}
