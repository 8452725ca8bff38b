package monitoring

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// The shipped files, relative to this directory.
var (
	rulesFile     = filepath.Join("..", "..", "configs", "monitoring", "rotor-alerts.yml")
	dashboardFile = filepath.Join("..", "..", "configs", "monitoring", "rotor-dashboard.json")
	opsDocFile    = filepath.Join("..", "..", "docs", "operations.md")
)

// alertRule is one alert of rotor-alerts.yml.
type alertRule struct {
	name, expr  string
	forDuration model.Duration
}

// loadRules parses the rules with Prometheus' own parser (as Prometheus
// and promtool check rules do) and returns the alerts.
func loadRules(t *testing.T) []alertRule {
	t.Helper()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation)
	for _, err := range errs {
		t.Errorf("%s: %v", rulesFile, err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	var out []alertRule
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("%s: group %s has a recording rule %q; docs/operations.md documents alerts only", rulesFile, g.Name, r.Record)
				continue
			}
			out = append(out, alertRule{name: r.Alert, expr: r.Expr, forDuration: r.For})
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a severity label and summary and description annotations", r.Alert)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no alerts", rulesFile)
	}
	return out
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int    `json:"id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	GridPos     struct{ H, W, X, Y int }
	Datasource  *struct {
		Type, UID string
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s is not valid JSON", dashboardFile)
	}
	return d
}

// grafanaVars stand in for the dashboard's variables, so its queries
// parse as PromQL.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"$job", ".*", "$instance", ".*",
)

// metricNames returns the metric names expr selects, sorted.
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.ParseExpr(expr)
	if err != nil {
		t.Errorf("does not parse: %s: %v", expr, err)
		return nil
	}
	set := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			if name == "" {
				t.Errorf("%s: a selector without a metric name: %s", expr, vs)
			}
			set[name] = true
		}
		return nil
	})
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// panelQueries returns every query of the dashboard, by panel title.
func panelQueries(d dashboard) map[string][]string {
	out := map[string][]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out[p.Title] = append(out[p.Title], grafanaVars.Replace(tg.Expr))
		}
	}
	return out
}

// prometheusMade are series Prometheus makes itself when it scrapes.
var prometheusMade = map[string]bool{"up": true, "scrape_duration_seconds": true}
