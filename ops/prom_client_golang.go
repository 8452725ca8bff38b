//go:build metrics_client_golang

package ops

// The exposition written with github.com/prometheus/client_golang, for the
// library comparison in bench/metrics.sh.

import (
	"io"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

type exposition struct {
	reg *prometheus.Registry
	// mu guards gauges, which Collect reads during a Gather.
	mu     sync.Mutex
	gauges []family
}

func newExposition() *exposition {
	e := &exposition{reg: prometheus.NewRegistry()}
	e.reg.MustRegister(gaugeCollector{e})
	return e
}

type counterVec struct{ v *prometheus.CounterVec }

func (e *exposition) counter(name, help string, labels ...string) *counterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	e.reg.MustRegister(c)
	return &counterVec{c}
}

func (c *counterVec) inc(values ...string)            { c.v.WithLabelValues(values...).Inc() }
func (c *counterVec) add(n float64, values ...string) { c.v.WithLabelValues(values...).Add(n) }

type histogramVec struct{ v *prometheus.HistogramVec }

func (e *exposition) histogram(name, help string, buckets []float64, labels ...string) *histogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	e.reg.MustRegister(h)
	return &histogramVec{h}
}

func (h *histogramVec) observe(v float64, values ...string) {
	h.v.WithLabelValues(values...).Observe(v)
}

func (e *exposition) write(w io.Writer, gauges []family) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gauges = gauges
	mfs, err := e.reg.Gather()
	if err != nil {
		return
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		enc.Encode(mf)
	}
}

// gaugeCollector turns the scrape's gauge families into const metrics.
// An unchecked collector: the families vary with the status.
type gaugeCollector struct{ e *exposition }

func (gaugeCollector) Describe(chan<- *prometheus.Desc) {}

func (g gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range g.e.gauges {
		d := prometheus.NewDesc(f.name, f.help, f.labels, nil)
		for _, s := range f.samples {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, s.value, s.values...)
		}
	}
}
