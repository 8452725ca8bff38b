package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, body string) *Config {
	t.Helper()
	p := write(t, t.TempDir(), "cfg.hcl", body)
	cfg, err := Load([]string{p}, env(nil))
	if err != nil {
		t.Fatalf("refused:\n%v", err)
	}
	return cfg
}

// Vault Agent's HCL 1: the type written inside the block, config written as
// a block, auto_auth = { }, several attributes on one line, ${...} left
// alone in strings, heredocs, string booleans and numbers of seconds.
func TestVaultAgentGrammar(t *testing.T) {
	cfg := load(t, `
auto_auth = {
  method {
    type = "approle"
    wrap_ttl = 300
    min_backoff = 2  max_backoff = "2m"
    config {
      role_id_file_path = "/etc/rotor/role_id"  secret_id_file_path = "/etc/rotor/secret_id"
      remove_secret_id_file_after_reading = "false"
    }
  }
  sink {
    type = "file"
    config = { path = "/run/rotor/token", mode = 0600 }
  }
}
vault {
  address = "http://127.0.0.1:8200"  tls_skip_verify = "true"
  retry { num_retries = -1 }
}
template { contents = "x" destination = "/tmp/a" command = "echo ${HOME} > /tmp/seen" perms = 0655 }
template {
  contents = <<EOT
{{ with secret "kv/data/app" }}{{ .Data.data.key }}{{ end }}
EOT
  destination = "/tmp/b"
  wait { min = "1s" max = "4s" }
  wait { min = "5s" max = "30s" }
}
listener "unix" {
  address = "/run/rotor/api.sock"
  socket_mode = "0600"
  socket_user = "0"
  socket_group = "0"
  agent_api { enable_quit = true }
}
`)
	m := cfg.AutoAuth.Method
	if m.Type != "approle" || m.WrapTTL != 5*time.Minute || m.MinBackoff != 2*time.Second || m.MaxBackoff != 2*time.Minute {
		t.Fatalf("method %+v", m)
	}
	if a := m.AppRole; a.RoleIDFilePath != "/etc/rotor/role_id" || a.SecretIDFilePath != "/etc/rotor/secret_id" || a.RemoveSecretIDFileAfterReading {
		t.Fatalf("approle %+v", a)
	}
	if s := cfg.AutoAuth.Sinks; len(s) != 1 || s[0].Type != "file" || s[0].Path != "/run/rotor/token" || s[0].Mode != 0o600 {
		t.Fatalf("sinks %+v", s)
	}
	if !cfg.Vault.TLSSkipVerify || cfg.Vault.NumRetries != 0 {
		t.Fatalf("vault %+v", cfg.Vault)
	}
	t0, t1 := cfg.Templates[0], cfg.Templates[1]
	if t0.Command.Shell != "echo ${HOME} > /tmp/seen" || t0.Perms != 0o655 || t0.Destination != "/tmp/a" {
		t.Fatalf("template 0 %+v", t0)
	}
	if !strings.Contains(t1.Contents, `secret "kv/data/app"`) || t1.WaitMin != 5*time.Second || t1.WaitMax != 30*time.Second {
		t.Fatalf("template 1 %+v", t1)
	}
	l := cfg.Listeners[0]
	if l.Type != "unix" || l.Mode != 0o600 || !l.AgentAPIEnableQuit || l.SocketMode != "0600" {
		t.Fatalf("listener %+v", l)
	}
	if w := strings.Join(Warnings(cfg), "\n"); !strings.Contains(w, "2 wait blocks; the last one is used") {
		t.Fatalf("warnings:\n%s", w)
	}
}

// The JSON that the Kubernetes injector (vault-k8s) writes for its Vault
// Agent containers validates and decodes unchanged.
func TestKubernetesInjectorJSON(t *testing.T) {
	cfg, err := Load([]string{"testdata/k8s-injector.json"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.AutoAuth.Method
	if m.Type != "kubernetes" || m.MountPath != "auth/kubernetes" || m.Kubernetes.Role != "orders-api" || m.Kubernetes.TokenPath != "/var/run/secrets/vault/token" {
		t.Fatalf("method %+v %+v", m, m.Kubernetes)
	}
	if s := cfg.AutoAuth.Sinks; len(s) != 1 || s[0].Path != "/home/vault/.vault-token" || s[0].Mode != DefaultSinkMode {
		t.Fatalf("sinks %+v", s)
	}
	if cfg.PidFile != "/home/vault/.pid" || cfg.Vault.Address != "https://vault.vault.svc:8200" || cfg.Vault.CACert != "/vault/tls/ca.crt" || cfg.Vault.TLSServerName != "vault.vault.svc" {
		t.Fatalf("top %+v", cfg)
	}
	if len(cfg.Templates) != 2 {
		t.Fatalf("templates %+v", cfg.Templates)
	}
	t0, t1 := cfg.Templates[0], cfg.Templates[1]
	if t0.LeftDelim != "[[" || t0.RightDelim != "]]" || !t0.ErrorOnMissingKey || t0.Perms != 0o640 || t0.Command.Shell != "kill -HUP 1" || t0.Destination != "/vault/secrets/db-creds" {
		t.Fatalf("template 0 %+v", t0)
	}
	if t1.Destination != "/vault/secrets/config.json" || !t1.CreateDestDirs || t1.Perms != 0 {
		t.Fatalf("template 1 %+v", t1)
	}
	if tc := cfg.TemplateConfig; !tc.ExitOnRetryFailure || tc.StaticSecretRenderInterval != 2*time.Minute {
		t.Fatalf("template_config %+v", tc)
	}
	if l := cfg.Listeners; len(l) != 1 || l[0].Address != "127.0.0.1:8200" || !l[0].TLSDisable {
		t.Fatalf("listeners %+v", l)
	}
	if c := cfg.Cache; c == nil || !c.UseAutoAuthToken || !c.ForceAutoAuthToken || cfg.APIProxy == nil || !cfg.APIProxy.ForceAutoAuthToken {
		t.Fatalf("cache %+v api_proxy %+v", c, cfg.APIProxy)
	}
	if !slices.Equal(cfg.DisableIdleConnections, []string{"templating"}) || !slices.Equal(cfg.DisableKeepAlives, []string{"auto-auth"}) {
		t.Fatalf("disable_* %v %v", cfg.DisableIdleConnections, cfg.DisableKeepAlives)
	}
}

// A key Vault Agent knows and rotor does not act on is accepted with a
// warning saying what Vault Agent would do; a key neither knows is a
// warning too, with a suggestion; warnings come sorted by position.
func TestKnownKeysWarnUnknownKeysFail(t *testing.T) {
	cfg := load(t, okAuth+`log_file = "/var/log/agent.log"
disable_mlock = true
telemetry { prometheus_retention_time = "30s" }
listener "tcp" {
  address = "127.0.0.1:8100"
  cors_enabled = true
  tls_disable = true
}
`)
	w := Warnings(cfg)
	want := []string{
		"cfg.hcl:5:1: Ignored by rotor: log_file: Vault Agent also writes its log to this file",
		"cfg.hcl:6:1: Ignored by rotor: top level: disable_mlock: Vault Agent parses it and does not use it; rotor ignores it.",
		"cfg.hcl:7:1: Ignored by rotor: top level: telemetry:",
		"cfg.hcl:8:1: Vault API not proxied: listener \"tcp\" 127.0.0.1:8100:",
		"cfg.hcl:10:3: Ignored by rotor: listener \"tcp\": cors_enabled:",
	}
	if len(w) != len(want) {
		t.Fatalf("warnings:\n%s", strings.Join(w, "\n"))
	}
	for i := range want {
		if !strings.Contains(w[i], want[i]) {
			t.Errorf("warning %d:\n got %s\nwant ...%s...", i, w[i], want[i])
		}
	}
	// A key neither knows: Vault Agent skips it, rotor warns with a
	// suggestion.
	p := write(t, t.TempDir(), "cfg.hcl", okAuth+"log_fiel = \"x\"\nlistener \"tcp\" {\n address = \"127.0.0.1:1\"\n cors_enable = true\n tls_disable = true\n}\n")
	cfg, err := Load([]string{p}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	w = Warnings(cfg)
	if len(w) != 3 || !strings.HasSuffix(w[0], `cfg.hcl:5:1: Ignored: top level: "log_fiel" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "log_file"?`) ||
		!strings.HasSuffix(w[2], `cfg.hcl:8:2: Ignored: listener "tcp": "cors_enable" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "cors_enabled"?`) {
		t.Fatalf("warnings:\n%s", strings.Join(w, "\n"))
	}
}

// Every problem has a position, even those about the whole configuration,
// and problems from several files come sorted by file, line and column.
func TestEveryProblemHasAPosition(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.hcl", "vault {\n  address = \"127.0.0.1:8200\"\n}\n")
	b := write(t, dir, "b.hcl", "template {\n  contents = \"x\"\n}\npid_file = true\n")
	_, err := Load([]string{b, a}, env(nil))
	got := problems(t, err)
	want := []string{
		a + ":2:13: Invalid Vault address",
		b + ":1:1: Missing required argument: template: \"destination\" is required",
		b + ":4:12: Incorrect attribute value type: top level: pid_file must be a string.",
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
	// Nothing to do at all: the first file's start.
	c := write(t, dir, "c.hcl", "pid_file = \"/run/x.pid\"\n")
	_, err = Load([]string{c}, env(nil))
	if got := problems(t, err); len(got) != 1 || !strings.HasPrefix(got[0], c+":1:1: Nothing to do") {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
}

// A directory is read as Vault Agent reads one: *.hcl and *.json, without
// editors' temporary files, later files' blocks replacing earlier ones.
func TestConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "1.hcl", okAuth+`vault { address = "http://127.0.0.1:1" }`)
	write(t, dir, "2.hcl", `listener "tcp" { address = "127.0.0.1:8100" }`)
	write(t, dir, "2.hcl~", `this is not HCL {`)
	write(t, dir, ".#3.hcl", `neither {`)
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{dir}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Files) != 2 || len(cfg.Listeners) != 1 || cfg.Vault.Address != "http://127.0.0.1:1" {
		t.Fatalf("files %v listeners %d vault %s", cfg.Files, len(cfg.Listeners), cfg.Vault.Address)
	}
}

// num_retries as Vault Agent reads it: unset or 0 is the default (12), -1
// turns retries off.
func TestNumRetries(t *testing.T) {
	for body, want := range map[string]int{
		``:                                     DefaultNumRetries,
		`vault { retry {} }`:                   DefaultNumRetries,
		`vault { retry { num_retries = 0 } }`:  DefaultNumRetries,
		`vault { retry { num_retries = -1 } }`: 0,
		`vault { retry { num_retries = 3 } }`:  3,
	} {
		if got := load(t, okAuth+body).Vault.NumRetries; got != want {
			t.Errorf("%q: num_retries %d, want %d", body, got, want)
		}
	}
}

func TestMaxRenderedBytes(t *testing.T) {
	dir := t.TempDir()
	base := "auto_auth {\n  method \"token_file\" { config = { token_file_path = \"/t\" } }\n  sink \"file\" { config = { path = \"/s\" } }\n}\n"
	ok := write(t, dir, "ok.hcl", base+"template_config {\n  max_rendered_bytes = 1024\n}\n")
	cfg, err := Load([]string{ok}, env(nil))
	if err != nil || cfg.TemplateConfig.MaxRenderedBytes != 1024 {
		t.Fatalf("%v %+v", err, cfg)
	}
	bad := write(t, dir, "bad.hcl", base+"template_config {\n  max_rendered_bytes = 0\n}\n")
	if _, err := Load([]string{bad}, env(nil)); err == nil || !strings.Contains(err.Error(), "max_rendered_bytes") {
		t.Fatalf("zero accepted: %v", err)
	}
}
