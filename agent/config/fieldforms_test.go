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

	// Listener keys rotor ignores are parsed by Vault Agent, which refuses
	// a wrong value.
	{name: "listener bad max_request_duration", body: ffAuth + "listener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n  max_request_duration = \"90\"\n  http_idle_timeout = \"5 minutes\"\n}\n",
		fail: `cfg.hcl:14:23: Invalid duration: listener "tcp": http_idle_timeout:`},
	{name: "listener negative max_request_duration", body: ffAuth + "listener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n  max_request_duration = \"-1s\"\n}\n",
		fail: `cfg.hcl:13:26: Invalid value: listener "tcp": max_request_duration cannot be negative.`},
	{name: "listener name in x_forwarded_for_authorized_addrs", body: ffAuth + "listener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n  x_forwarded_for_authorized_addrs = \"10.0.0.0/8, lb.internal\"\n}\n",
		fail: `cfg.hcl:13:38: Invalid value: listener "tcp": x_forwarded_for_authorized_addrs: "lb.internal" is not an IP address`},
	{name: "listener unknown proxy_protocol_behavior", body: ffAuth + "listener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n  proxy_protocol_behavior = \"allow\"\n}\n",
		fail: `cfg.hcl:13:29: Invalid value: listener "tcp": unsupported value supplied for proxy_protocol_behavior: "allow"`},
	{name: "listener keys Vault Agent takes", body: ffAuth + `listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = "true"
  max_request_size = "33554432"
  max_request_duration = 90
  x_forwarded_for_authorized_addrs = ["10.0.0.0/8", "127.0.0.1"]
  x_forwarded_for_hop_skips = "1"
  proxy_protocol_behavior = "use_always"
  telemetry { unauthenticated_metrics_access = "true" }
}
`, warn: `cfg.hcl:13:3: Ignored by rotor: listener "tcp": max_request_size:`},
	// A tcp listener without address listens on Vault Agent's default.
	{name: "listener without address", body: ffAuth + "api_proxy {}\nlistener \"tcp\" {\n  tls_disable = true\n}\n",
		warn: `cfg.hcl:11:1: Default address: listener "tcp": no address: Vault Agent listens on 127.0.0.1:8200, and so does rotor.`},
	// Without tls_disable, Vault Agent serves TLS and fails to start a
	// listener that has no certificate; rotor serves it, saying so.
	{name: "listener without tls_disable", body: ffAuth + "api_proxy {}\nlistener \"unix\" {\n  address = \"/tmp/agent.sock\"\n}\n",
		warn: `cfg.hcl:11:1: TLS not disabled: listener "unix": no tls_disable = true and no tls_cert_file: Vault Agent would fail to start this listener`},
	// With tls_disable, Vault Agent reads no TLS setting: a half pair or
	// an unknown version does not stop it.
	{name: "listener TLS settings under tls_disable", body: ffAuth + "api_proxy {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:8100\"\n  tls_disable = true\n  tls_cert_file = \"/etc/agent/cert.pem\"\n  tls_min_version = \"1.2\"\n}\n",
		warn: `cfg.hcl:15:3: Setting ignored: listener "tcp": tls_min_version has no effect: this listener serves no TLS.`},

	// A template is decoded by mapstructure, not weakly typed: user and
	// group are strings, uid and gid numbers; a negative id is chown's
	// "leave it".
	{name: "template user as a number", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  user = 1000\n}\n",
		fail: `cfg.hcl:13:10: Incorrect attribute value type: template: user must be a quoted string.`},
	{name: "template uid as a string", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  uid = \"1000\"\n}\n",
		fail: `cfg.hcl:13:9: Incorrect attribute value type: template: uid must be a number (unquoted).`},
	{name: "template negative uid", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  uid = -1\n  gid = 0\n}\n",
		warn: `cfg.hcl:13:9: Owner unchanged: template: uid = -1: a negative id leaves the file's owner as it is`},

	// log_rotate_duration: Vault Agent's parseutil takes a negative value.
	{name: "negative log_rotate_duration", body: ffAuth + "log_rotate_duration = \"-1s\"\n",
		warn: `cfg.hcl:10:1: Ignored by rotor: log_rotate_duration:`},
	{name: "bad log_rotate_duration", body: ffAuth + "log_rotate_duration = \"a day\"\n",
		fail: `cfg.hcl:10:23: Invalid duration: log_rotate_duration:`},

	// A sink's mode: Vault Agent's loader keeps it as written, and its
	// file sink, made before anything runs, refuses what is not an int and
	// a negative int: Vault Agent exits at start (agentcheck leaves the
	// sink constructor out, so it says ok).
	{name: "sink mode symbolic", body: strings.Replace(ffAuth, `path = "/tmp/t"`, `path = "/tmp/t", mode = "u=rw"`, 1),
		fail: `cfg.hcl:8:52: Invalid file mode: sink "file" config: mode = "u=rw": Vault Agent exits when it creates this sink (error creating file sink: could not parse 'mode' as integer)`},
	{name: "sink mode negative", body: strings.Replace(ffAuth, `path = "/tmp/t"`, `path = "/tmp/t", mode = -1`, 1),
		fail: `cfg.hcl:8:52: Invalid file mode: sink "file" config: mode = -1: Vault Agent exits when it creates this sink (error creating file sink: file mode does not represent a regular file)`},

	// Negative durations: parseutil takes them; Vault Agent wraps and
	// backs off only with positive values, and a sink's negative wrap_ttl
	// reaches Vault, which refuses it.
	{name: "negative method wrap_ttl", body: strings.Replace(ffAuth, "config = {\n      role_id", "wrap_ttl = \"-5m\"\n    config = {\n      role_id", 1),
		warn: `cfg.hcl:3:16: Setting ignored: method "approle": wrap_ttl -5m0s is negative`},
	{name: "negative min_backoff", body: strings.Replace(ffAuth, "config = {\n      role_id", "min_backoff = -1\n    config = {\n      role_id", 1),
		warn: `cfg.hcl:3:19: Default used: method "approle": min_backoff -1s is negative`},
	{name: "negative max_backoff in days", body: strings.Replace(ffAuth, "config = {\n      role_id", "max_backoff = \"-1d\"\n    config = {\n      role_id", 1),
		warn: `cfg.hcl:3:19: Default used: method "approle": max_backoff -24h0m0s is negative`},
	{name: "quoted fraction for a backoff", body: strings.Replace(ffAuth, "config = {\n      role_id", "min_backoff = \"-1.5\"\n    config = {\n      role_id", 1),
		fail: `cfg.hcl:3:19: Invalid duration: method "approle": min_backoff: time: missing unit in duration "-1.5".`},
	{name: "negative sink wrap_ttl", body: strings.Replace(ffAuth, `sink "file" {`, `sink "file" { wrap_ttl = "-5m"`, 1),
		warn: `cfg.hcl:8:28: Sink never written: sink "file": wrap_ttl -5m0s is negative`},
	{name: "negative static_secret_render_interval", body: ffAuth + "template_config { static_secret_render_interval = \"-1m\" }\n",
		warn: `cfg.hcl:10:51: Value raised: template_config: static_secret_render_interval -1m0s is negative`},

	// Template durations are consul-template's: mapstructure takes a
	// negative one and truncates a fraction.
	{name: "negative command_timeout", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  command = \"true\"\n  command_timeout = \"-1s\"\n}\n",
		warn: `cfg.hcl:14:21: Default used: template: command_timeout -1s is negative`},
	{name: "fraction for command_timeout", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  command = \"true\"\n  command_timeout = 3.5\n}\n",
		warn: `cfg.hcl:14:21: Ambiguous duration: template: command_timeout = 3.5: Vault Agent reads a bare number here as nanoseconds; rotor reads seconds. Write "3.5s"`},
	{name: "negative exec timeout", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  exec {\n    command = [\"true\"]\n    timeout = -2\n  }\n}\n",
		warn: `cfg.hcl:15:15: Default used: template.exec: timeout -2s is negative`},
	{name: "wait min above max", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  wait { \n    min = \"10s\"\n    max = \"5s\"\n  }\n}\n",
		warn: `cfg.hcl:13:3: Setting ignored: template.wait: max (5s) is less than min (10s)`},
	{name: "negative wait min", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  wait { min = \"-1s\" }\n}\n",
		warn: `cfg.hcl:13:16: Setting ignored: template.wait: min -1s is negative`},
	{name: "wait string min above max", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  wait = \"10s:5s\"\n}\n",
		fail: `cfg.hcl:13:10: Invalid value: template: wait = "10s:5s": wait: min must be less than max`},

	// An empty template command is consul-template's "no command".
	{name: "template exec with an empty command", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  exec { command = [] }\n}\n",
		warn: `cfg.hcl:13:20: Setting ignored: template.exec: command is empty: Vault Agent runs no command after rendering`},
	{name: "template exec with an empty program", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  exec { command = [\"\", \"x\"] }\n}\n",
		warn: `cfg.hcl:13:20: Setting ignored: template.exec: command is empty`},
	{name: "template exec without command", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  exec { timeout = \"5s\" }\n}\n",
		warn: `cfg.hcl:13:3: Setting ignored: template.exec: no command`},
	{name: "template empty command string", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  command = \"\"\n}\n",
		warn: `cfg.hcl:13:13: Setting ignored: template: command is empty`},
	{name: "template exec env", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  exec {\n    command = [\"true\"]\n    env { }\n  }\n}\n",
		fail: `cfg.hcl:15:5: Invalid type: template.exec: 'exec.env' expected a map, got 'slice'`},
	{name: "template command of numbers", body: ffAuth + "template {\n  contents = \"x\"\n  destination = \"/tmp/out\"\n  command = [1]\n}\n",
		fail: `cfg.hcl:13:13: Incorrect attribute value type: template: 'command[0]' expected type 'string', got unconvertible type 'int', value: '1'`},
	{name: "exec command of numbers", body: ffAuth + "env_template \"A\" { contents = \"x\" }\nexec { command = [1] }\n",
		fail: `cfg.hcl:11:18: Incorrect attribute value type: exec: 'command[0]' expected type 'string', got unconvertible type 'int', value: '1'`},
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
