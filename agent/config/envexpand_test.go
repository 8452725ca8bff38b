package config

import (
	"strconv"
	"strings"
	"testing"
)

const envBody = `auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "${env:ROLE_DIR}/role_id"
      secret_id_file_path = "${env:SECRET_DIR:-/etc/rotor}/secret_id"
    }
  }
  sink "file" { config = { path = "$${env:LITERAL}" } }
}
vault { address = "${env:ADDR}" }
template {
  destination = "/tmp/${env:APP}.conf"
  contents = "${env:NOT_EXPANDED} {{ env \"HOME\" }}"
}
`

// ${env:NAME} is expanded only when asked for; by default every value is
// kept as written, as Vault Agent keeps it.
func TestConfigEnvExpansion(t *testing.T) {
	vars := map[string]string{"ROLE_DIR": "/run/role", "ADDR": "http://127.0.0.1:8200", "APP": "web"}
	for _, c := range []struct {
		name string
		opts []Option
		env  map[string]string
		body string
	}{
		{"flag", []Option{WithExpandEnv()}, vars, envBody},
		{"environment variable", nil, merged(vars, map[string]string{ExpandEnvVar: "1"}), envBody},
		{"rotor block", nil, vars, "rotor { expand_env = true }\n" + envBody},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, t.TempDir(), "c.hcl", c.body)
			cfg, err := Load([]string{p}, env(c.env), c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			a := cfg.AutoAuth.Method.AppRole
			if a.RoleIDFilePath != "/run/role/role_id" || a.SecretIDFilePath != "/etc/rotor/secret_id" {
				t.Fatalf("approle %+v", a)
			}
			if cfg.AutoAuth.Sinks[0].Path != "${env:LITERAL}" || cfg.Vault.Address != "http://127.0.0.1:8200" {
				t.Fatalf("sink %s vault %s", cfg.AutoAuth.Sinks[0].Path, cfg.Vault.Address)
			}
			tp := cfg.Templates[0]
			if tp.Destination != "/tmp/web.conf" || tp.Contents != `${env:NOT_EXPANDED} {{ env "HOME" }}` {
				t.Fatalf("template %q %q", tp.Destination, tp.Contents)
			}
		})
	}
	// Off: kept as written.
	p := write(t, t.TempDir(), "c.hcl", strings.Replace(envBody, `"${env:ADDR}"`, `"http://127.0.0.1:8200"`, 1))
	cfg, err := Load([]string{p}, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.AutoAuth.Method.AppRole.RoleIDFilePath; got != "${env:ROLE_DIR}/role_id" {
		t.Fatalf("expanded without being asked: %s", got)
	}
	if got := cfg.AutoAuth.Sinks[0].Path; got != "$${env:LITERAL}" {
		t.Fatalf("literal changed without expansion: %s", got)
	}
}

// A value of ROTOR_EXPAND_ENV that is neither on nor off is refused,
// naming the variable: a typo must not silently leave ${env:...} in.
func TestExpandEnvVariableValues(t *testing.T) {
	p := write(t, t.TempDir(), "c.hcl", strings.Replace(envBody, `"${env:ADDR}"`, `"http://127.0.0.1:8200"`, 1))
	for v, want := range map[string]string{"ture": "error", "2": "error", "off": "literal", "0": "literal", "": "literal", "YES": "expanded"} {
		cfg, err := Load([]string{p}, env(map[string]string{ExpandEnvVar: v, "ROLE_DIR": "/run/role", "APP": "web"}))
		switch {
		case want == "error":
			if err == nil || !strings.Contains(err.Error(), ExpandEnvVar) || !strings.Contains(err.Error(), strconv.Quote(v)) {
				t.Errorf("%s=%q: err %v, want an error naming the variable and its value", ExpandEnvVar, v, err)
			}
		case err != nil:
			t.Errorf("%s=%q: %v", ExpandEnvVar, v, err)
		case want == "literal" && cfg.AutoAuth.Method.AppRole.RoleIDFilePath != "${env:ROLE_DIR}/role_id",
			want == "expanded" && cfg.AutoAuth.Method.AppRole.RoleIDFilePath != "/run/role/role_id":
			t.Errorf("%s=%q: role_id path %s, want it %s", ExpandEnvVar, v, cfg.AutoAuth.Method.AppRole.RoleIDFilePath, want)
		}
	}
}

func merged(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// An unset variable is an error at its reference; a bad reference too.
func TestConfigEnvErrors(t *testing.T) {
	body := "auto_auth {\n  method \"token_file\" { config = { token_file_path = \"/t/${env:MISSING}\" } }\n  sink \"file\" { config = { path = \"${env:1BAD}\" } }\n}\nvault {\n  address = <<EOT\nhttp://${env:HOST\nEOT\n}\n"
	p := write(t, t.TempDir(), "c.hcl", body)
	_, err := Load([]string{p}, env(nil), WithExpandEnv())
	got := strings.Join(problems(t, err), "\n")
	for _, want := range []string{
		p + ":2:58: Unset environment variable: ${env:MISSING}: the environment variable MISSING is not set",
		p + ":3:36: Invalid reference: ${env:1BAD}: \"1BAD\" is not an environment variable name",
		p + ":7:8: Invalid reference: an ${env:NAME} reference has no closing }.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}

// A value that came from the environment is not echoed in a message: the
// reference is shown instead.
func TestConfigEnvValuesAreNotEchoed(t *testing.T) {
	const secret = "s3cr3t-token-value"
	body := okAuth + "log_level = \"${env:LEVEL}\"\n"
	p := write(t, t.TempDir(), "c.hcl", body)
	_, err := Load([]string{p}, env(map[string]string{"LEVEL": secret}), WithExpandEnv())
	if err == nil {
		t.Fatal("accepted an invalid log_level")
	}
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), `log_level "${env:LEVEL}"`) {
		t.Fatalf("message: %v", err)
	}
}
