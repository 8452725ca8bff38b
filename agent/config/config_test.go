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
		`testdata/typo.hcl:7:19: Invalid duration`,
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
	// Misspelt keys are skipped by Vault Agent: warnings, listed with the
	// errors, each with its suggestion.
	var ce *Error
	errors.As(err, &ce)
	warns := strings.Join(ce.Warnings(), "\n")
	for _, w := range []string{
		`testdata/typo.hcl:2:3: Ignored: vault: "adress" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "address"?`,
		`testdata/typo.hcl:10:7: Ignored: method "approle" config: "secret_id_fil_path" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "secret_id_file_path"?`,
	} {
		if !strings.Contains(warns, w) {
			t.Errorf("no warning %s in:\n%s", w, warns)
		}
	}
}

// okAuth is an auto_auth block that validates, for cases about other keys.
const okAuth = `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  sink "file" { config = { path = "/tmp/rotor-test-sink" } }
}
`

func TestInvalidConfigs(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"wrong type", okAuth + `exit_after_auth = "yes please"`, "exit_after_auth must be true or false"},
		{"unknown method", "auto_auth {\n method \"magic\" {}\n}", `method "magic" is not one of`},
		{"exec command string", "env_template \"X\" {\n contents = \"x\"\n}\nexec {\n command = \"/bin/app --flag\"\n}", `cfg.hcl:5:12: Invalid type: exec: command must be a list of strings`},
		{"missing role", "auto_auth {\n method \"kubernetes\" {\n config = {}\n}\n}", `"role" is required`},
		{"two methods", `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  method "token_file" { config = { token_file_path = "/u" } }
}`, "auto_auth takes one method; the first is at cfg.hcl:2:3"},
		{"source and contents", okAuth + `template {
  source = "a"
  contents = "b"
  destination = "c"
}`, "set exactly one of source and contents"},
		{"empty source", okAuth + `template {
  source = ""
  destination = "c"
}`, "set one of source and contents"},
		{"env without exec", okAuth + `env_template "DB" { contents = "x" }`, "env_template needs an exec block"},
		{"exec without env", okAuth + `exec { command = ["true"] }`, "an exec block needs at least one env_template"},
		{"uid and user in a sink", `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  sink "file" { config = { path = "/tmp/t", owner = "root", uid = 0 } }
}`, "set owner or uid, not both"},
		{"half an encrypted sink", `auto_auth {
  method "token_file" { config = { token_file_path = "/t" } }
  sink "file" {
    dh_type = "curve25519"
    config = { path = "/tmp/t" }
  }
}`, "dh_type and dh_path must be set together"},
		{"cache without users", `cache {}`, "enabling the cache needs at least one template or one listener"},
		{"no way to log in", `template {
  contents = "x"
  destination = "/tmp/x"
}
listener "tcp" { address = "127.0.0.1:8100" }`, "no auto_auth block and no VAULT_TOKEN"},
		{"nothing to do", `vault { address = "http://127.0.0.1:8200" }`, "there is no auto_auth, cache or listener block"},
		{"token used by nothing", `auto_auth { method "token_file" { config = { token_file_path = "/t" } } }`, "auto_auth needs at least one sink"},
		{"bad address", okAuth + `vault { address = "127.0.0.1:8200" }`, "cfg.hcl:5:19: Invalid Vault address"},
		{"syntax error", `vault {`, "cfg.hcl:1:9: Syntax error"},
		{"duplicate attribute", okAuth + "pid_file = \"a\"\npid_file = \"b\"", "cfg.hcl:6:1: Duplicate argument"},
		{"two vault blocks in a file", okAuth + "vault {}\nvault {}", "only one vault block is allowed; the first is at cfg.hcl:5:1"},
		{"decimal 0999 mode", okAuth + `template {
  contents = "x"
  destination = "/tmp/x"
  perms = "0999"
}`, "Invalid file mode"},
		{"method and sink wrapping", `auto_auth {
  method "token_file" {
    wrap_ttl = "5m"
    config = { token_file_path = "/t" }
  }
  sink "file" {
    wrap_ttl = 300
    config = { path = "/tmp/t" }
  }
}`, "wrap_ttl is set on both the method and its sink"},
		{"aws without type", `auto_auth {
  method "aws" { config = { role = "r" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `method "aws" config: "type" is required`},
		{"gcp", `auto_auth {
  method "gcp" { config = { role = "r" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `method "gcp" config: "type" is required`},
		{"gcp type", `auto_auth {
  method "gcp" { config = { role = "r", type = "gke" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `type "gke": use "gce" or "iam"`},
		{"azure needs resource", `auto_auth {
  method "azure" { config = { role = "r" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `method "azure" config: "resource" is required`},
		{"azure object_id and client_id", `auto_auth {
  method "azure" { config = { role = "r", resource = "https://management.azure.com/", object_id = "a", client_id = "b" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `set object_id or client_id, not both`},
		{"alicloud role_arn", `auto_auth {
  method "alicloud" { config = { role = "r", region = "cn-hangzhou", access_key = "k", access_secret = "s", role_arn = "acs:ram::1:role/x" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `role_arn is not supported by rotor: assuming a RAM role by ARN calls STS AssumeRole`},
		{"alicloud private_key", `auto_auth {
  method "alicloud" { config = { role = "r", region = "cn-hangzhou", private_key = "k", public_key_id = "p", session_expiration = 3600 } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `private_key is not supported by rotor`},
		{"alicloud needs region", `auto_auth {
  method "alicloud" { config = { role = "r" } }
  sink "file" { config = { path = "/tmp/t" } }
}`, `method "alicloud" config: "region" is required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
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
	// Vault Agent's JSON shape: an object whose members are all objects is
	// split into one block per member (HCL 1), so method has a "type".
	write(t, dir, "20-auth.json", `{"auto_auth": {"method": {"type": "approle", "config": {"role_id_file_path": "/r"}},
	  "sink": [{"type": "file", "config": {"path": "/tmp/tok", "mode": 384}}]}}`)
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
	// A later file's vault block replaces an earlier one, as Vault Agent
	// merges files; rotor says so.
	extra := write(t, t.TempDir(), "more.hcl", `vault { address = "http://127.0.0.1:2" }`)
	cfg, err = Load([]string{dir, extra}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vault.Address != "http://127.0.0.1:2" {
		t.Fatalf("the later vault block did not win: %s", cfg.Vault.Address)
	}
	if w := strings.Join(Warnings(cfg), "\n"); !strings.Contains(w, extra+":1:1: Block replaced: this vault block replaces the one at "+filepath.Join(dir, "10-vault.hcl")+":1:1") {
		t.Fatalf("no warning about the replaced vault block:\n%s", w)
	}
}

func TestEnvironmentOverridesConfig(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.hcl", okAuth+`vault {
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
  sink "file" { config = { path = "/tmp/c", mode = "0440" } }
}`)
	cfg, err := Load([]string{p}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.AutoAuth.Method
	if m.MinBackoff != 2*time.Second || m.MaxBackoff != 90*time.Second {
		t.Fatalf("backoff %v %v", m.MinBackoff, m.MaxBackoff)
	}
	// HCL 1 reads 0600 as octal and 440 as decimal (mode 0670), as Vault
	// Agent does; rotor warns about the decimal one. A quoted mode is octal.
	s := cfg.AutoAuth.Sinks
	if s[0].Mode != 0o600 || s[1].Mode != 440 || s[2].Mode != 0o440 {
		t.Fatalf("modes %o %o %o", s[0].Mode, s[1].Mode, s[2].Mode)
	}
	w := strings.Join(Warnings(cfg), "\n")
	if !strings.Contains(w, "c.hcl:8:52: Decimal file mode") || !strings.Contains(w, "Vault Agent refuses a quoted mode") {
		t.Fatalf("warnings:\n%s", w)
	}
}
