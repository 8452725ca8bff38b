// Package monitoring tests the shipped monitoring files
// (configs/monitoring/): the alert rules parse with Prometheus' own rule
// parser and fire when they should, the Grafana dashboard is valid JSON
// whose queries parse, and every metric they use is in a live /metrics
// scrape of a running rotor, parsed with Prometheus' text parser.
//
// It is a nested module so that Prometheus' packages stay out of rotor's
// go.mod. make test runs it.
package monitoring
