package monitoring

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// firing returns the alerts that fire at minute 30 of the series in load
// (promqltest's load syntax at 1m steps): an alert fires when its
// expression has a result at every minute of its "for" window, as
// Prometheus' rule manager would have it pending, then firing.
func firing(t *testing.T, rules []alertRule, load string) []string {
	t.Helper()
	st := promqltest.LoadedStorage(t, "load 1m\n"+load)
	defer st.Close()
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	at := time.Unix(0, 0).UTC().Add(30 * time.Minute)
	var out []string
	for _, r := range rules {
		fires := true
		for d := time.Duration(0); d <= time.Duration(r.forDuration); d += time.Minute {
			q, err := eng.NewInstantQuery(context.Background(), st, nil, r.expr, at.Add(-d))
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			res := q.Exec(context.Background())
			if res.Err != nil {
				t.Fatalf("%s: %s: %v", r.name, r.expr, res.Err)
			}
			v, err := res.Vector()
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			q.Close()
			if len(v) == 0 {
				fires = false
				break
			}
		}
		if fires {
			out = append(out, r.name)
		}
	}
	sort.Strings(out)
	return out
}

// Each alert fires in the situation it is for, and only that alert.
func TestAlertsFireWhenTheyShould(t *testing.T) {
	rules := loadRules(t)
	const l = `job="rotor",instance="app-1:8210"`
	cases := []struct {
		name, load string
		want       string // "" for no alert
	}{
		{"agent down", `up{` + l + `} 1x10 0x30`, "RotorNotScraped"},
		{"agent up", `up{` + l + `} 1x40`, ""},
		{"no token", `rotor_authenticated{` + l + `} 1x20 0x20`, "RotorNotAuthenticated"},
		{"token renewals fail, none succeeds", `rotor_token_renewals_total{` + l + `,outcome="failure"} 0+1x40
  rotor_token_renewals_total{` + l + `,outcome="success"} 7x40`, "RotorTokenRenewalFailing"},
		{"a renewal failed once, then they succeed", `rotor_token_renewals_total{` + l + `,outcome="failure"} 0x20 1x20
  rotor_token_renewals_total{` + l + `,outcome="success"} 0+1x40`, ""},
		{"a lease cannot be renewed", `rotor_lease_failing{` + l + `,engine="database",class="lease",secret="database/creds/ro"} 0x20 1x20`, "RotorLeaseRenewalFailing"},
		{"a lease nears its end", `rotor_lease_expiry_seconds{` + l + `,engine="pki_int",class="cert",secret="pki_int/issue/web"} 2000-60x40`, "RotorLeaseExpiringSoon"},
		{"a lease renewed on time", `rotor_lease_expiry_seconds{` + l + `,engine="database",class="lease",secret="database/creds/ro"} 3600-60x20 3600-60x19`, ""},
		{"an expired lease is held", `rotor_secrets{` + l + `,engine="database",class="lease",state="expired"} 0x20 1x20
  rotor_secrets{` + l + `,engine="database",class="lease",state="ok"} 1x40`, "RotorLeaseExpired"},
		{"a template keeps failing", `rotor_template_failures{` + l + `,template="/etc/app/db.env"} 0x10 1+1x30
  rotor_template_rendered{` + l + `,template="/etc/app/db.env"} 1x40`, "RotorTemplateFailing"},
		{"a template never rendered", `rotor_template_failures{` + l + `,template="/etc/app/db.env"} 0x40
  rotor_template_rendered{` + l + `,template="/etc/app/db.env"} 0x40`, "RotorTemplateFailing"},
		{"a template failed once", `rotor_template_failures{` + l + `,template="/etc/app/db.env"} 0x20 1 0x19
  rotor_template_rendered{` + l + `,template="/etc/app/db.env"} 1x40`, ""},
		{"a reload command fails", `rotor_template_command_exit_code{` + l + `,template="/etc/nginx/tls/server.crt"} 0x10 1x30`, "RotorReloadCommandFailing"},
		{"a consumer never takes the new certificate", `rotor_unconfirmed{` + l + `,template="/etc/nginx/tls/server.crt"} 0x10 1x30`, "RotorRotationUnconfirmed"},
		{"a consumer takes it late", `rotor_unconfirmed{` + l + `,template="/etc/nginx/tls/server.crt"} 0x20 1x3 0x17`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(firing(t, rules, "  "+c.load), ",")
			if got != c.want {
				t.Errorf("firing: %q, want %q", got, c.want)
			}
		})
	}
}

// Every alert is exercised by TestAlertsFireWhenTheyShould.
func TestEveryAlertHasAFiringCase(t *testing.T) {
	b, err := readFile("rules_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range loadRules(t) {
		if !strings.Contains(b, `"`+r.name+`"}`) {
			t.Errorf("alert %s has no case in TestAlertsFireWhenTheyShould", r.name)
		}
	}
}
