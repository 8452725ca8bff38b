//go:build metrics_vm

package ops

// The exposition written with github.com/VictoriaMetrics/metrics, for the
// library comparison in bench/metrics.sh.

import (
	"io"
	"strconv"
	"strings"

	vm "github.com/VictoriaMetrics/metrics"
)

type exposition struct{ set *vm.Set }

func newExposition() *exposition {
	vm.ExposeMetadata(true) // TYPE lines (the library writes HELP without text)
	return &exposition{set: vm.NewSet()}
}

type counterVec struct {
	set    *vm.Set
	name   string
	labels []string
}

func (e *exposition) counter(name, help string, labels ...string) *counterVec {
	return &counterVec{set: e.set, name: name, labels: labels}
}

func (c *counterVec) inc(values ...string) { c.add(1, values...) }

func (c *counterVec) add(n float64, values ...string) {
	c.set.GetOrCreateFloatCounter(c.name + vmLabels(c.labels, values)).Add(n)
}

type histogramVec struct {
	set     *vm.Set
	name    string
	labels  []string
	buckets []float64
}

func (e *exposition) histogram(name, help string, buckets []float64, labels ...string) *histogramVec {
	return &histogramVec{set: e.set, name: name, labels: labels, buckets: buckets}
}

func (h *histogramVec) observe(v float64, values ...string) {
	h.set.GetOrCreatePrometheusHistogramExt(h.name+vmLabels(h.labels, values), h.buckets).Update(v)
}

func (e *exposition) write(w io.Writer, gauges []family) {
	for _, f := range gauges {
		vm.WriteMetadataIfNeeded(w, f.name, "gauge")
		for _, s := range f.samples {
			// WriteGaugeFloat64 would repeat the metadata for each series.
			io.WriteString(w, f.name+vmLabels(f.labels, s.values)+" ")
			io.WriteString(w, vmNum(s.value)+"\n")
		}
	}
	e.set.WritePrometheus(w)
}

func vmLabels(names, values []string) string {
	if len(names) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(values[i]) + `"`)
	}
	b.WriteByte('}')
	return b.String()
}

func vmNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
