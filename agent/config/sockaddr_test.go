package config

import (
	"strings"
	"testing"
)

// A listener address written as a go-sockaddr template is rendered at
// load, as Vault Agent's loader renders it; a template that does not parse
// or gives several addresses is refused with Vault's reason.
func TestListenerAddressTemplate(t *testing.T) {
	const base = `
vault { address = "http://127.0.0.1:8200" }
auto_auth {
  method "approle" {
    config = { role_id_file_path = "/tmp/r", secret_id_file_path = "/tmp/s" }
  }
  sink "file" { config = { path = "/tmp/t" } }
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
`
	render := func(addr string) (*Config, error) {
		p := write(t, t.TempDir(), "c.hcl", strings.Replace(base, "%q", `"`+strings.ReplaceAll(addr, `"`, `\"`)+`"`, 1))
		return Load([]string{p}, env(nil))
	}
	cfg, err := render(`{{ GetAllInterfaces | include "name" "lo" | include "type" "IPv4" | attr "address" }}:8200`)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Listeners[0].Address; got != "127.0.0.1:8200" {
		t.Errorf("rendered address %q, want 127.0.0.1:8200", got)
	}
	for addr, want := range map[string]string{
		`{{ NoSuchFunc }}:8200`: "unable to parse address template",
		`{{ GetAllInterfaces | include "flags" "loopback" | join "address" " " }}`: "multiple addresses found",
	} {
		_, err := render(addr)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "c.hcl:10:") {
			t.Errorf("%s: %v, want %q at the address's line", addr, err, want)
		}
	}
}
