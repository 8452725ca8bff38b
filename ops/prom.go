package ops

import (
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A small Prometheus text-format (0.0.4) implementation: counters and
// histograms with labels, and the gauges each scrape computes. See
// bench/README.md for why rotor does not link a library.

// exposition keeps the counters and histograms and writes them with the
// gauges of a scrape.
type exposition struct {
	counters   []*counterVec
	histograms []*histogramVec
}

func newExposition() *exposition { return &exposition{} }

func (e *exposition) counter(name, help string, labels ...string) *counterVec {
	c := &counterVec{name: name, help: help, labels: labels, values: map[string]float64{}}
	e.counters = append(e.counters, c)
	return c
}

func (e *exposition) histogram(name, help string, buckets []float64, labels ...string) *histogramVec {
	h := &histogramVec{name: name, help: help, labels: labels, buckets: buckets, series: map[string]*histogram{}}
	e.histograms = append(e.histograms, h)
	return h
}

// write writes the gauges, then every counter and histogram. The text is
// built in memory and written at once: no lock is held while a slow
// client reads.
func (e *exposition) write(w io.Writer, gauges []family) {
	b := make([]byte, 0, 16<<10)
	for _, f := range gauges {
		b = header(b, f.name, f.help, "gauge")
		for _, s := range f.samples {
			b = line(b, f.name, f.labels, s.values, "", "", s.value)
		}
	}
	for _, c := range e.counters {
		b = c.append(b)
	}
	for _, h := range e.histograms {
		b = h.append(b)
	}
	w.Write(b)
}

// counterVec is a counter with labels.
type counterVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	values     map[string]float64 // joined label values -> value
}

func (c *counterVec) inc(values ...string) { c.add(1, values...) }

// add adds n (0 creates the series).
func (c *counterVec) add(n float64, values ...string) {
	c.mu.Lock()
	c.values[strings.Join(values, "\x00")] += n
	c.mu.Unlock()
}

func (c *counterVec) append(b []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b = header(b, c.name, c.help, "counter")
	for _, k := range sortedKeys(c.values) {
		b = line(b, c.name, c.labels, strings.Split(k, "\x00"), "", "", c.values[k])
	}
	return b
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

func (h *histogramVec) append(b []byte) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	b = header(b, h.name, h.help, "histogram")
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bucket, sum, count := h.name+"_bucket", h.name+"_sum", h.name+"_count"
	for _, k := range keys {
		s, vals := h.series[k], strings.Split(k, "\x00")
		var cum uint64
		for i, ub := range h.buckets {
			cum += s.counts[i]
			b = line(b, bucket, h.labels, vals, "le", num(ub), float64(cum))
		}
		b = line(b, bucket, h.labels, vals, "le", "+Inf", float64(s.count))
		b = line(b, sum, h.labels, vals, "", "", s.sum)
		b = line(b, count, h.labels, vals, "", "", float64(s.count))
	}
	return b
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
)

func header(b []byte, name, help, typ string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, helpEscaper.Replace(help)...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

// line appends one sample: name{labels[,extra="extraValue"]} value.
func line(b []byte, name string, labels, values []string, extra, extraValue string, v float64) []byte {
	b = append(b, name...)
	if len(labels) > 0 || extra != "" {
		b = append(b, '{')
		for i, n := range labels {
			if i > 0 {
				b = append(b, ',')
			}
			val := ""
			if i < len(values) {
				val = values[i]
			}
			b = append(b, n...)
			b = append(b, `="`...)
			b = append(b, labelEscaper.Replace(val)...)
			b = append(b, '"')
		}
		if extra != "" {
			if len(labels) > 0 {
				b = append(b, ',')
			}
			b = append(b, extra...)
			b = append(b, `="`...)
			b = append(b, extraValue...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = append(b, num(v)...)
	return append(b, '\n')
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
