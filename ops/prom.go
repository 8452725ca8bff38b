//go:build !metrics_vm && !metrics_client_golang

package ops

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A small Prometheus text-format (0.0.4) implementation: counters and
// histograms with labels. rotor does not link client_golang: with its
// protobuf dependencies it adds 3.5 MB to the binary, which is resident
// on the machines measured here and pushed rotor past its 20 MB memory
// budget. The exposition format is stable and simple.

// exposition keeps the counters and histograms and writes them with the
// gauges of a scrape.
type exposition struct {
	counters   []*counterVec
	histograms []*histogramVec
}

func newExposition() *exposition { return &exposition{} }

func (e *exposition) counter(name, help string, labels ...string) *counterVec {
	c := newCounterVec(name, help, labels...)
	e.counters = append(e.counters, c)
	return c
}

func (e *exposition) histogram(name, help string, buckets []float64, labels ...string) *histogramVec {
	h := newHistogramVec(name, help, buckets, labels...)
	e.histograms = append(e.histograms, h)
	return h
}

// write writes the gauges, then every counter and histogram.
func (e *exposition) write(w io.Writer, gauges []family) {
	for _, f := range gauges {
		header(w, f.name, f.help, "gauge")
		for _, s := range f.samples {
			fmt.Fprintf(w, "%s%s %s\n", f.name, labelText(f.labels, s.values), num(s.value))
		}
	}
	for _, c := range e.counters {
		c.write(w)
	}
	for _, h := range e.histograms {
		h.write(w)
	}
}

// counterVec is a counter with labels.
type counterVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	values     map[string]float64 // joined label values -> value
}

func newCounterVec(name, help string, labels ...string) *counterVec {
	return &counterVec{name: name, help: help, labels: labels, values: map[string]float64{}}
}

func (c *counterVec) inc(values ...string) { c.add(1, values...) }

// add adds n (0 creates the series).
func (c *counterVec) add(n float64, values ...string) {
	c.mu.Lock()
	c.values[strings.Join(values, "\x00")] += n
	c.mu.Unlock()
}

func (c *counterVec) write(w io.Writer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	header(w, c.name, c.help, "counter")
	for _, k := range sortedKeys(c.values) {
		fmt.Fprintf(w, "%s%s %s\n", c.name, labelText(c.labels, strings.Split(k, "\x00")), num(c.values[k]))
	}
}

// histogramVec is a histogram with labels.
type histogramVec struct {
	name, help string
	labels     []string
	buckets    []float64
	mu         sync.Mutex
	series     map[string]*histogram
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

func newHistogramVec(name, help string, buckets []float64, labels ...string) *histogramVec {
	return &histogramVec{name: name, help: help, labels: labels, buckets: buckets, series: map[string]*histogram{}}
}

func (h *histogramVec) observe(v float64, values ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := strings.Join(values, "\x00")
	s := h.series[k]
	if s == nil {
		s = &histogram{counts: make([]uint64, len(h.buckets))}
		h.series[k] = s
	}
	for i, ub := range h.buckets {
		if v <= ub {
			s.counts[i]++
			break
		}
	}
	s.count++
	s.sum += v
}

func (h *histogramVec) write(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	header(w, h.name, h.help, "histogram")
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, vals := h.series[k], strings.Split(k, "\x00")
		var cum uint64
		for i, ub := range h.buckets {
			cum += s.counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, labelText(append(h.labels, "le"), append(vals, num(ub))), cum)
		}
		fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, labelText(append(h.labels, "le"), append(vals, "+Inf")), s.count)
		fmt.Fprintf(w, "%s_sum%s %s\n", h.name, labelText(h.labels, vals), num(s.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", h.name, labelText(h.labels, vals), s.count)
	}
}

func header(w io.Writer, name, help, typ string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help), name, typ)
}

func labelText(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		v := ""
		if i < len(values) {
			v = values[i]
		}
		b.WriteString(n + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
