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
