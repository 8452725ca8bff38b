package config

import (
	"strings"
	"testing"
)

// fieldForm is a form found by comparing rotor's loader with Vault Agent
// 1.21's on field configurations and their variants: rotor must give Vault
// Agent's verdict, and say where (file:line:col) what it warns about or
// refuses.
type fieldForm struct {
	name, body string
	fail, warn string // substrings expected in the error or the warnings ("" for none)
}

const ffAuth = `auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "/r"
      secret_id_file_path = "/s"
    }
  }
  sink "file" { config = { path = "/tmp/t" } }
}
`

var fieldForms = []fieldForm{
	// pcf: Vault Agent normalizes each string of the method's config by
	// the method type, and its table no longer has pcf.
	{name: "pcf with a string in config", body: `auto_auth {
  method "pcf" {
    config = { role = "web" }
  }
  sink "file" { config = { path = "/tmp/t" } }
}
`, fail: `cfg.hcl:2:3: Unknown auth method: method "pcf": Vault Agent 1.21 refuses it (unknown auto-auth method type pcf)`},
	{name: "cf with a string in config", body: `auto_auth {
  method "cf" {
    config = { role = "web" }
  }
  sink "file" { config = { path = "/tmp/t" } }
}
`},

	// telemetry: rotor ignores it, but Vault Agent decodes its fields
	// with HCL 1's types and refuses the file on a wrong one.
	{name: "telemetry quoted bool", body: ffAuth + "telemetry {\n  disable_hostname = \"true\"\n}\n",
		fail: `cfg.hcl:11:22: Incorrect attribute value type: telemetry: disable_hostname must be true or false (unquoted).`},
	{name: "telemetry string for a list", body: ffAuth + "telemetry {\n  prefix_filter = \"+vault\"\n}\n",
		fail: `cfg.hcl:11:19: Incorrect attribute value type: telemetry: prefix_filter must be a list of strings`},
	{name: "telemetry float for an int", body: ffAuth + "telemetry {\n  maximum_gauge_cardinality = 1.5\n}\n",
		fail: `cfg.hcl:11:31: Incorrect attribute value type: telemetry: maximum_gauge_cardinality must be a whole number.`},
	{name: "telemetry bad duration", body: ffAuth + "telemetry {\n  prometheus_retention_time = \"none\"\n}\n",
		fail: `cfg.hcl:11:31: Invalid duration: telemetry: prometheus_retention_time:`},
	{name: "telemetry not a block", body: ffAuth + "telemetry = \"statsd\"\n",
		fail: `cfg.hcl:10:13: Incorrect attribute value type: telemetry must be a block`},
	{name: "telemetry forms Vault Agent takes", body: ffAuth + `telemetry {
  prometheus_retention_time = 30
  usage_gauge_period = "none"
  lease_metrics_epsilon = "-1h"
  disable_hostname = true
  maximum_gauge_cardinality = "500"
  dogstatsd_tags = ["env:a", 1]
  statsd_address = "127.0.0.1:8125"
}
`, warn: "cfg.hcl:10:1: Ignored by rotor: top level: telemetry:"},
}

func TestFieldForms(t *testing.T) {
	for _, c := range fieldForms {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			write(t, dir, "cfg.hcl", c.body)
			cfg, err := Load([]string{"cfg.hcl"}, env(map[string]string{"VAULT_TOKEN": "t"}))
			switch {
			case c.fail == "" && err != nil:
				t.Fatalf("refused, Vault Agent accepts it:\n%v", err)
			case c.fail != "" && err == nil:
				t.Fatalf("accepted, Vault Agent refuses it; want %q", c.fail)
			case c.fail != "" && !strings.Contains(err.Error(), c.fail):
				t.Fatalf("got\n%v\nwant %q", err, c.fail)
			}
			if c.warn != "" && err == nil {
				if w := strings.Join(Warnings(cfg), "\n"); !strings.Contains(w, c.warn) {
					t.Fatalf("warnings:\n%s\nwant %q", w, c.warn)
				}
			}
		})
	}
}
