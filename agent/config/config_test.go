package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func problems(t *testing.T, err error) []string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want *config.Error, got %v", err)
	}
	return ce.Problems()
}

func TestSeedConfigParsesUnchanged(t *testing.T) {
	cfg, err := Load([]string{"testdata/seed.hcl"}, env(map[string]string{"VAULT_ADDR": "http://127.0.0.1:8200"}))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.AutoAuth.Method
	if m.Type != "kubernetes" || m.MountPath != "auth/kubernetes" || m.Kubernetes.Role != "web-server" ||
		m.Kubernetes.TokenPath != DefaultKubernetesTokenPath {
		t.Fatalf("method %+v %+v", m, m.Kubernetes)
	}
	if len(cfg.Templates) != 2 || cfg.Templates[1].Perms != 0o600 || cfg.Templates[0].Command.Shell != "systemctl reload nginx" {
		t.Fatalf("templates %+v", cfg.Templates)
	}
	if cfg.Vault.Address != "http://127.0.0.1:8200" || cfg.Vault.NumRetries != DefaultNumRetries {
		t.Fatalf("vault %+v", cfg.Vault)
	}
	if cfg.TemplateConfig.LeaseRenewalThreshold != 0.9 || cfg.TemplateConfig.StaticSecretRenderInterval != 5*time.Minute {
		t.Fatalf("template_config defaults %+v", cfg.TemplateConfig)
	}
}

func TestTyposAreAllReportedWithPositions(t *testing.T) {
	_, err := Load([]string{"testdata/typo.hcl"}, env(nil))
	got := problems(t, err)
	want := []string{
		`testdata/typo.hcl:2:3: Unsupported argument: An argument named "adress" is not expected here. Did you mean "address"?`,
		`testdata/typo.hcl:7:19: Invalid duration`,
		`testdata/typo.hcl:10:7: Unsupported argument: method "approle" config: "secret_id_fil_path" is not a known key. Did you mean "secret_id_file_path"?`,
		`testdata/typo.hcl:16:14: Invalid file mode`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
}

func TestInvalidConfigs(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"wrong type", `exit_after_auth = "yes please"`, "exit_after_auth must be a boolean"},
		{"unknown method", "auto_auth {\n method \"ldap\" {}\n}", `method "ldap" is not one of`},
		{"missing role", "auto_auth {\n method \"kubernetes\" {\n config = {}\n}\n}", `"role" is required`},
		{"two methods", `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  method "token_file" { config = { token_file_path = "/u" } }
}`, "auto_auth takes one method; the first is at cfg.hcl:2:3"},
		{"source and contents", `template {
  source = "a"
  contents = "b"
  destination = "c"
}`, "set exactly one of source and contents"},
		{"command and exec", `template {
  contents = "x"
  destination = "/tmp/x"
  command = "true"
  exec { command = ["true"] }
}`, "use either command or one exec block"},
		{"threshold", `template_config { lease_renewal_threshold = 1.5 }`, "lease_renewal_threshold must be in (0, 1]"},
		{"same destination", `template {
  contents = "x"
  destination = "/tmp/x"
}
template {
  contents = "y"
  destination = "/tmp/x"
}`, "also written by the template at cfg.hcl:1:1"},
		{"backoff order", `auto_auth {
method "token_file" {
  min_backoff = "10m"
  max_backoff = "1m"
  config = { token_file_path = "/t" }
}
}`, "min_backoff (10m0s) is greater than max_backoff (1m0s)"},
		{"env without exec", `env_template "DB" { contents = "x" }`, "env_template needs an exec block"},
		{"exit_after_auth with exec", "exit_after_auth = true\nexec { command = [\"true\"] }", "an exec block would never run"},
		{"uid and user", `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  sink "file" { config = { path = "/tmp/t", owner = "root", uid = 0 } }
}`, "set owner or uid, not both"},
		{"encrypted sink", `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  sink "file" {
    dh_type = "curve25519"
    config = { path = "/tmp/t" }
  }
}`, "Diffie-Hellman encrypted sinks) is not supported"},
		{"cache block", `cache {}`, "rotor has no API cache"},
		{"no way to log in", `template {
  contents = "x"
  destination = "/tmp/x"
}`, "no auto_auth block and no VAULT_TOKEN"},
		{"bad address", `vault { address = "127.0.0.1:8200" }`, "must be a URL"},
		{"syntax error", `vault {`, "Unclosed configuration block"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			wd, _ := os.Getwd()
			os.Chdir(dir)
			defer os.Chdir(wd)
			write(t, dir, "cfg.hcl", c.body)
			_, err := Load([]string{"cfg.hcl"}, env(nil))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.body)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not mention %q:\n%v", c.want, err)
			}
		})
	}
}

func TestDirectoryMergeAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "10-vault.hcl", `vault { address = "http://127.0.0.1:1" }`)
	write(t, dir, "20-auth.json", `{"auto_auth": {"method": {"approle": {"config": {"role_id_file_path": "/r"}}},
	  "sink": {"file": {"config": {"path": "/tmp/tok", "mode": "0600"}}}}}`)
	write(t, dir, "ignored.txt", `not config`)
	cfg, err := Load([]string{dir}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vault.Address != "http://127.0.0.1:1" || cfg.AutoAuth.Method.AppRole.RoleIDFilePath != "/r" ||
		!cfg.AutoAuth.Method.AppRole.RemoveSecretIDFileAfterReading || cfg.AutoAuth.Sinks[0].Mode != 0o600 {
		t.Fatalf("merged config wrong: %+v", cfg)
	}
	if len(cfg.Files) != 2 {
		t.Fatalf("files %v", cfg.Files)
	}
	extra := write(t, t.TempDir(), "more.hcl", `vault { address = "http://127.0.0.1:2" }`)
	_, err = Load([]string{dir, extra}, env(nil))
	if err == nil || !strings.Contains(err.Error(), "only one vault block is allowed; the first is at "+filepath.Join(dir, "10-vault.hcl")+":1:1") {
		t.Fatalf("duplicate vault block across files: %v", err)
	}
}

func TestEnvironmentOverridesConfig(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.hcl", `vault {
  address = "http://from-file:8200"
  namespace = "file-ns"
  tls_skip_verify = false
}`)
	cfg, err := Load([]string{p}, env(map[string]string{
		"VAULT_ADDR": "http://from-vault-env:8200", "BAO_ADDR": "http://from-bao-env:8200",
		"BAO_NAMESPACE": "bao-ns", "VAULT_SKIP_VERIFY": "true", "VAULT_TOKEN": "s.secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vault.Address != "http://from-vault-env:8200" || cfg.Vault.Namespace != "bao-ns" || !cfg.Vault.TLSSkipVerify {
		t.Fatalf("%+v", cfg.Vault)
	}
	if cfg.Token.String() != "[redacted]" || string(cfg.Token) != "s.secret" {
		t.Fatal("token not taken from the environment, or printable")
	}
}

func TestModesAndDurationsAcceptBothForms(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.hcl", `auto_auth {
  method "token_file" {
    min_backoff = 2
    max_backoff = "90s"
    config = { token_file_path = "/t" }
  }
  sink "file" { config = { path = "/tmp/a", mode = 0600 } }
  sink "file" { config = { path = "/tmp/b", mode = 440 } }
}`)
	cfg, err := Load([]string{p}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.AutoAuth.Method
	if m.MinBackoff != 2*time.Second || m.MaxBackoff != 90*time.Second {
		t.Fatalf("backoff %v %v", m.MinBackoff, m.MaxBackoff)
	}
	if cfg.AutoAuth.Sinks[0].Mode != 0o600 || cfg.AutoAuth.Sinks[1].Mode != 0o440 {
		t.Fatalf("modes %o %o", cfg.AutoAuth.Sinks[0].Mode, cfg.AutoAuth.Sinks[1].Mode)
	}
}
