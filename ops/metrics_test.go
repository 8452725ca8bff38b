package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/lease"
	"github.com/rotorproject/rotor/template"
)

func TestMetricsText(t *testing.T) {
	now := time.Now()
	m := NewMetrics(func() Status {
		return Status{
			Authenticated: true,
			Token:         &TokenStatus{TTLSeconds: 300},
			Leases: []lease.Status{
				{Key: "read:database/creds/r", Engine: "database", Expires: now.Add(90 * time.Second)},
				{Key: "read:secret/app", Engine: "secret"},
			},
			Templates: []template.Status{{Name: `/etc/a "b"`, Rendered: true, Secrets: []string{"read:database/creds/r", "read:secret/app"}}},
		}
	})
	m.Auth("login", "success")
	m.Auth("renew", "failure")
	m.Render("/etc/x", nil)
	m.Render("/etc/x", errTest{})
	m.Command(0)
	m.Request("/v1/auth/approle/login", 200, 3*time.Millisecond)
	m.Request("/v1/secret/data/app", 200, 30*time.Millisecond)
	m.Request("/v1/secret/data/app", 403, 7*time.Second)
	var b strings.Builder
	m.Write(&b)
	out := b.String()
	for _, want := range []string{
		"# TYPE rotor_authenticated gauge\nrotor_authenticated 1\n",
		"rotor_token_ttl_seconds 300\n",
		`rotor_leases{engine="database"} 1`,
		`rotor_template_rendered{template="/etc/a \"b\""} 1`,
		`rotor_logins_total{outcome="success"} 1`,
		`rotor_token_renewals_total{outcome="failure"} 1`,
		`rotor_template_renders_total{template="/etc/x"} 1`,
		`rotor_template_render_errors_total{template="/etc/x"} 1`,
		`rotor_reload_commands_total{exit_code="0"} 1`,
		`rotor_vault_requests_total{path_class="secret",status="403"} 1`,
		`rotor_vault_request_duration_seconds_bucket{path_class="secret",le="0.025"} 0`,
		`rotor_vault_request_duration_seconds_bucket{path_class="secret",le="0.05"} 1`,
		`rotor_vault_request_duration_seconds_bucket{path_class="secret",le="5"} 1`,
		`rotor_vault_request_duration_seconds_bucket{path_class="secret",le="+Inf"} 2`,
		`rotor_vault_request_duration_seconds_count{path_class="login"} 1`,
		"# TYPE rotor_vault_request_duration_seconds histogram",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q\n%s", want, out)
		}
	}
	if !strings.Contains(out, `rotor_secret_expiry_seconds{template="/etc/a \"b\""} 8`) && !strings.Contains(out, `rotor_secret_expiry_seconds{template="/etc/a \"b\""} 9`) {
		t.Errorf("expiry gauge wrong:\n%s", out)
	}
}

type errTest struct{}

func (errTest) Error() string { return "x" }

func TestPathClass(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/auth/approle/login": "login", "/v1/auth/token/renew-self": "token", "/v1/sys/leases/renew": "lease",
		"/v1/sys/internal/ui/mounts/secret/app": "mount_lookup", "/v1/database/creds/r": "secret", "/v1/sys/wrapping/wrap": "wrapping",
	} {
		if got := PathClass(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// scrape returns one scrape's text.
func scrape(m *Metrics) string {
	var b strings.Builder
	m.Write(&b)
	return b.String()
}

func TestMetricsPerSecretAndTemplateGauges(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	exit1 := 1
	m := NewMetrics(func() Status {
		return Status{
			Authenticated: true,
			Leases: []lease.Status{
				{Key: "read:database/creds/ro", Path: "database/creds/ro", Engine: "database", Class: "lease", Expires: now.Add(90 * time.Second)},
				{Key: "write:pki_int/issue/web common_name=a password=hunter2", Path: "pki_int/issue/web (common_name,password)", Engine: "pki_int", Class: "cert", Expires: now.Add(time.Hour)},
				{Key: "write:pki_int/issue/web common_name=b", Path: "pki_int/issue/web (common_name)", Engine: "pki_int", Class: "cert", Expires: now.Add(30 * time.Minute), LastError: "permission denied"},
				{Key: "read:database/creds/old", Path: "database/creds/old", Engine: "database", Class: "lease", Expires: now.Add(-time.Second)},
				{Key: "read:secret/app", Path: "secret/app", Engine: "secret", Class: "static"},
			},
			Templates: []template.Status{
				{Name: "/out/db.env", Rendered: true, LastRender: now.Add(-1500 * time.Millisecond), Secrets: []string{"read:database/creds/ro", "read:secret/app"}, CommandExit: &exit1},
				{Name: "/out/never", Failures: 3, LastError: "boom"},
			},
		}
	})
	m.now = func() time.Time { return now }
	out := scrape(m)
	for _, want := range []string{
		`rotor_secrets{engine="database",class="lease",state="ok"} 1`,
		`rotor_secrets{engine="database",class="lease",state="expired"} 1`,
		`rotor_secrets{engine="pki_int",class="cert",state="ok"} 1`,
		`rotor_secrets{engine="pki_int",class="cert",state="failing"} 1`,
		`rotor_secrets{engine="secret",class="static",state="ok"} 1`,
		`rotor_leases{engine="pki_int"} 2`,
		// Two certificates at one path fold into one series: the earliest end, failing if either fails.
		`rotor_lease_expiry_seconds{engine="pki_int",class="cert",secret="pki_int/issue/web"} 1800`,
		`rotor_lease_failing{engine="pki_int",class="cert",secret="pki_int/issue/web"} 1`,
		`rotor_lease_expiry_seconds{engine="database",class="lease",secret="database/creds/ro"} 90`,
		`rotor_lease_failing{engine="database",class="lease",secret="database/creds/ro"} 0`,
		`rotor_lease_expiry_seconds{engine="database",class="lease",secret="database/creds/old"} -1`,
		`rotor_secret_expiry_seconds{template="/out/db.env"} 90`,
		`rotor_template_last_render_timestamp_seconds{template="/out/db.env"} 1.7357870435e+09`,
		`rotor_template_failures{template="/out/never"} 3`,
		`rotor_template_failures{template="/out/db.env"} 0`,
		`rotor_template_command_exit_code{template="/out/db.env"} 1`,
		"# TYPE rotor_lease_expiry_seconds gauge\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q\n%s", want, out)
		}
	}
	for _, never := range []string{"hunter2", "password=", "common_name=", `rotor_template_last_render_timestamp_seconds{template="/out/never"}`, `rotor_template_command_exit_code{template="/out/never"}`, `secret="secret/app"`} {
		if strings.Contains(out, never) {
			t.Errorf("metrics contain %q\n%s", never, out)
		}
	}
}

// The scheduler's changes between scrapes become renewal, rotation and
// failure counts by engine, each counted once.
func TestMetricsCountLeaseEventsBetweenScrapes(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	db := lease.Status{Key: "read:database/creds/ro", Path: "database/creds/ro", Engine: "database", Class: "lease",
		Expires: now.Add(time.Minute), NextAction: "renew", NextAt: now.Add(40 * time.Second)}
	crt := lease.Status{Key: "write:pki/issue/x common_name=a", Path: "pki/issue/x (common_name)", Engine: "pki", Class: "cert",
		Expires: now.Add(time.Hour), NextAction: "refetch", NextAt: now.Add(50 * time.Minute)}
	kv := lease.Status{Key: "read:secret/app", Path: "secret/app", Engine: "secret", Class: "static", NextAction: "refetch", NextAt: now.Add(time.Minute)}
	cur := []lease.Status{db, crt, kv}
	m := NewMetrics(func() Status { return Status{Leases: append([]lease.Status(nil), cur...)} })
	m.now = func() time.Time { return now }
	counts := func() map[string]string {
		got := map[string]string{}
		for _, line := range strings.Split(scrape(m), "\n") {
			for _, name := range []string{"rotor_lease_renewals_total{", "rotor_lease_rotations_total{", "rotor_secret_failures_total{"} {
				if strings.HasPrefix(line, name) {
					k, v, _ := strings.Cut(line, " ")
					got[k] = v
				}
			}
		}
		return got
	}
	step := func(name string, change func(), want map[string]string) {
		t.Helper()
		change()
		got := counts()
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q (all: %v)", name, k, got[k], v, got)
			}
		}
	}
	step("first scrape: a baseline, every engine at 0", func() {}, map[string]string{
		`rotor_lease_renewals_total{engine="database"}`: "0", `rotor_lease_rotations_total{engine="pki"}`: "0",
		`rotor_secret_failures_total{engine="secret"}`: "0",
	})
	step("forced rotation before the renewal was due", func() { cur[0].Expires = now.Add(61 * time.Second) }, map[string]string{
		`rotor_lease_renewals_total{engine="database"}`: "0", `rotor_lease_rotations_total{engine="database"}`: "1",
	})
	now = now.Add(40 * time.Second) // the renewal is due
	step("renewal", func() { cur[0].Expires = now.Add(2 * time.Minute) }, map[string]string{
		`rotor_lease_renewals_total{engine="database"}`: "1", `rotor_lease_rotations_total{engine="database"}`: "1",
	})
	step("nothing changed: nothing counted again", func() {}, map[string]string{
		`rotor_lease_renewals_total{engine="database"}`: "1",
	})
	step("capped lease replaced", func() { cur[0].NextAction = "refetch" }, nil)
	step("", func() { cur[0].Expires = now.Add(5 * time.Minute); cur[0].NextAction = "renew" }, map[string]string{
		`rotor_lease_renewals_total{engine="database"}`: "1", `rotor_lease_rotations_total{engine="database"}`: "2",
	})
	step("certificate re-issued", func() { cur[1].Expires = now.Add(2 * time.Hour) }, map[string]string{
		`rotor_lease_rotations_total{engine="pki"}`: "1",
	})
	step("failure, then a failed retry", func() { cur[2].LastError = "403"; cur[2].NextAt = now.Add(time.Second) }, map[string]string{
		`rotor_secret_failures_total{engine="secret"}`: "1",
	})
	step("", func() { cur[2].NextAt = now.Add(3 * time.Second) }, map[string]string{
		`rotor_secret_failures_total{engine="secret"}`: "2",
	})
	step("still failing, not retried yet", func() {}, map[string]string{
		`rotor_secret_failures_total{engine="secret"}`: "2",
	})
}

// Scrapes, observations and status reads run concurrently (go test -race).
func TestMetricsConcurrentScrapes(t *testing.T) {
	m := NewMetrics(func() Status {
		return Status{Leases: []lease.Status{{Key: "k", Path: "database/creds/r", Engine: "database", Class: "lease", Expires: time.Now().Add(time.Minute), NextAction: "renew"}}}
	})
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				scrape(m)
				m.Request("/v1/sys/leases/renew", 200, time.Millisecond)
				m.Render("/out/x", nil)
				m.Auth("renew", "success")
				m.Command(i % 2)
			}
		}()
	}
	for range 4 {
		<-done
	}
	if out := scrape(m); !strings.Contains(out, `rotor_template_renders_total{template="/out/x"} 200`) {
		t.Errorf("lost updates:\n%s", out)
	}
}

// A template whose consumer was not confirmed: the gauges, the counter,
// and readiness's degraded list say so; a confirmed one shows its delay.
func TestConfirmMetricsAndReadiness(t *testing.T) {
	st := Status{Authenticated: true, Templates: []template.Status{
		{Name: "/etc/nginx/tls.crt", Rendered: true, Confirm: template.ConfirmUnconfirmed, ConfirmClass: template.ConfirmOldCertificate},
		{Name: "/etc/app/db.env", Rendered: true, Confirm: template.ConfirmConfirmed, ConfirmedAt: time.Now(), ConfirmSeconds: 1.5},
		{Name: "/etc/plain", Rendered: true},
	}, Held: []lease.HeldStatus{{Path: "database/creds/app"}}}
	m := NewMetrics(func() Status { return st })
	m.Confirm("/etc/nginx/tls.crt", 0, false)
	var b strings.Builder
	m.Write(&b)
	out := b.String()
	for _, want := range []string{
		`rotor_unconfirmed{template="/etc/nginx/tls.crt"} 1`,
		`rotor_unconfirmed{template="/etc/app/db.env"} 0`,
		`rotor_confirm_duration_seconds{template="/etc/app/db.env"} 1.5`,
		`rotor_confirm_failures_total{template="/etc/nginx/tls.crt"} 1`,
		`rotor_confirm_failures_total{template="/etc/app/db.env"} 0`,
		"rotor_held_leases 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q\n%s", want, out)
		}
	}
	if strings.Contains(out, `template="/etc/plain"} 0`) && strings.Contains(out, `rotor_unconfirmed{template="/etc/plain"}`) {
		t.Error("a template without confirm has a rotor_unconfirmed series")
	}
	if len(st.NotReady()) != 0 {
		t.Fatalf("not ready: %v", st.NotReady())
	}
	d := st.Degraded()
	if got := d["/etc/nginx/tls.crt"]; got.Class != ClassUnconfirmed || got.Reason != template.ConfirmOldCertificate || len(d) != 1 {
		t.Fatalf("degraded %v", d)
	}
}
