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
