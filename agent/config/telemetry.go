package config

import (
	"strings"

	"github.com/hashicorp/hcl/hcl/token"
)

// The telemetry block: rotor does not act on it (it serves Prometheus
// metrics on its listener's /metrics), but Vault Agent decodes it with HCL 1
// into typed fields and refuses the file when a value has the wrong type
// (disable_hostname = "true", prefix_filter = "a", a bad duration). rotor
// gives the same verdict, at the value's position, and warns that it
// ignores the block.

var (
	telemetryStrings = []string{"statsite_address", "statsd_address", "metrics_prefix",
		"circonus_api_token", "circonus_api_app", "circonus_api_url", "circonus_submission_interval",
		"circonus_submission_url", "circonus_check_id", "circonus_check_force_metric_activation",
		"circonus_check_instance_id", "circonus_check_search_tag", "circonus_check_tags",
		"circonus_check_display_name", "circonus_broker_id", "circonus_broker_select_tag", "dogstatsd_addr",
		"stackdriver_project_id", "stackdriver_location", "stackdriver_namespace"}
	telemetryBools = []string{"disable_hostname", "enable_hostname_label", "stackdriver_debug_logs",
		"add_lease_metrics_namespace_labels", "filter_default", "add_mount_point_rollback_metrics"}
	telemetryInts      = []string{"maximum_gauge_cardinality", "num_lease_metrics_buckets"}
	telemetryLists     = []string{"dogstatsd_tags", "prefix_filter"}
	telemetryDurations = []string{"prometheus_retention_time", "usage_gauge_period", "lease_metrics_epsilon"}
)

var telemetrySpec = spec{known: func() []string {
	var out []string
	for _, l := range [][]string{telemetryStrings, telemetryBools, telemetryInts, telemetryLists, telemetryDurations} {
		out = append(out, l...)
	}
	return out
}()}

const telemetryIgnored = "Vault Agent exports its metrics to statsd, Prometheus, etc. as configured here; rotor serves Prometheus metrics on its listener's /metrics"

func (d *decoder) decodeTelemetry(parent *block, it *item) {
	d.ds.warnf(it.pos, "Ignored by rotor", "top level: telemetry: %s; rotor ignores it.", telemetryIgnored)
	b := parent.blockBody(it, "telemetry", telemetrySpec)
	const w = "telemetry"
	for _, k := range telemetryStrings {
		if a := b.one(k); a != nil {
			var s string
			d.str(a, w, k, &s)
		}
	}
	for _, k := range telemetryBools {
		if a := b.one(k); a != nil {
			var v bool
			d.strictBool(a, w, k, &v)
		}
	}
	for _, k := range telemetryInts {
		if a := b.one(k); a != nil {
			var n int
			d.strictInt(a, w, k, &n)
		}
	}
	for _, k := range telemetryLists {
		if a := b.one(k); a != nil {
			var l []string
			d.strList(a, w, k, false, &l)
		}
	}
	for _, k := range telemetryDurations {
		if a := b.one(k); a != nil {
			d.signedDuration(a, w, k, k != "prometheus_retention_time")
		}
	}
}

// signedDuration checks a value as parseutil.ParseDurationSecond reads it,
// which takes negative durations too; none is Vault's word for "off" where
// it allows it. The value is not kept.
func (d *decoder) signedDuration(it *item, where, name string, none bool) {
	l, ok := d.lit(it)
	var s string
	switch {
	case !ok:
	case l.Token.Type == token.NUMBER || l.Token.Type == token.FLOAT:
		s = numText(l.Token.Text)
	case l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC:
		s, _ = tokValue(l.Token).(string)
		if none && s == "none" {
			return
		}
	default:
		ok = false
	}
	if !ok {
		d.typeErr(it, where, name, `a duration such as "30s" or "5m", or a number of seconds`)
		return
	}
	if _, err := parseDurationSecond(strings.TrimPrefix(strings.TrimSpace(s), "-")); err != nil {
		d.ds.errorf(it.vpos, "Invalid duration", "%s: %s: %v.", where, name, err)
	}
}
