package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rotor's per-template renewal policy: the template_config keys of the
// same names, set on one template; other templates keep the global ones.
func TestTemplateRenewalPolicy(t *testing.T) {
	cfg := load(t, tokenAuth+`
template_config { lease_renewal_threshold = 0.8  static_secret_render_interval = "10m" }
template {
  contents = "{{ with secret \"database/creds/app\" }}{{ .Data.username }}{{ end }}"
  destination = "/tmp/db"
  lease_renewal_threshold = 0.5
  static_secret_render_interval = "30s"
}
template { contents = "x" destination = "/tmp/plain" }
`)
	if got := cfg.Templates[0]; got.LeaseRenewalThreshold != 0.5 || got.StaticSecretRenderInterval != 30*time.Second {
		t.Fatalf("template 0: threshold %g interval %s, want 0.5 and 30s", got.LeaseRenewalThreshold, got.StaticSecretRenderInterval)
	}
	if got := cfg.Templates[1]; got.LeaseRenewalThreshold != 0 || got.StaticSecretRenderInterval != 0 {
		t.Fatalf("template 1 has its own policy (%g, %s): it should take the global one", got.LeaseRenewalThreshold, got.StaticSecretRenderInterval)
	}
	if cfg.TemplateConfig.LeaseRenewalThreshold != 0.8 {
		t.Fatalf("global threshold %g, want 0.8", cfg.TemplateConfig.LeaseRenewalThreshold)
	}
}

func TestTemplateRenewalPolicyRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`lease_renewal_threshold = 1.5`, "lease_renewal_threshold 1.5 is outside (0, 1]"},
		{`lease_renewal_threshold = 0`, "lease_renewal_threshold 0 is outside (0, 1]"},
		{`static_secret_render_interval = "100ms"`, "static_secret_render_interval 100ms is below 1s"},
		{`static_secret_render_interval = "soon"`, "static_secret_render_interval"},
	} {
		p := write(t, t.TempDir(), "cfg.hcl", tokenAuth+"template {\n  contents = \"x\"\n  destination = \"/tmp/x\"\n  "+c.body+"\n}\n")
		_, err := Load([]string{p}, env(nil))
		if err == nil {
			t.Errorf("%s: accepted", c.body)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, filepath.Base(p)+":5:") {
			t.Errorf("%s: error %q should name %q at line 5", c.body, msg, c.want)
		}
	}
}

const tokenAuth = `auto_auth { method "token_file" { config = { token_file_path = "/run/token" } } }
`
