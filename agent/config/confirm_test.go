package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A confirm block with defaults, and each kind of check.
func TestTemplateConfirm(t *testing.T) {
	p := write(t, t.TempDir(), "cfg.hcl", tokenAuth+`
template {
  contents = "x"
  destination = "/tmp/tls.crt"
  command = "nginx -s reload"
  confirm { tls = "127.0.0.1:8443" }
}
template {
  contents = "x"
  destination = "/tmp/db.env"
  confirm {
    command = ["psql", "-c", "select 1"]
    timeout = "2m"
    interval = "5s"
    reloads = 1
    restart_exec = true
  }
}
template {
  contents = "x"
  destination = "/tmp/app.conf"
  confirm {
    http = "https://127.0.0.1:8080/healthz"
    reloads = 0
  }
}
template { contents = "x" destination = "/tmp/plain" }
`)
	// rotor exec: templates beside the child it supervises.
	cfg, err := Load([]string{p}, env(nil), WithExec([]string{"/bin/app"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Templates[0].Confirm
	if c == nil || c.TLS != "127.0.0.1:8443" || c.Timeout != DefaultConfirmTimeout || c.Interval != DefaultConfirmInterval || c.Reloads != DefaultConfirmReloads || c.RestartExec {
		t.Fatalf("tls confirm %+v", c)
	}
	c = cfg.Templates[1].Confirm
	if c == nil || strings.Join(c.Command.Argv, " ") != "psql -c select 1" || c.Timeout != 2*time.Minute || c.Interval != 5*time.Second || c.Reloads != 1 || !c.RestartExec {
		t.Fatalf("command confirm %+v", c)
	}
	if c = cfg.Templates[2].Confirm; c == nil || c.HTTP != "https://127.0.0.1:8080/healthz" || c.Reloads != 0 {
		t.Fatalf("http confirm %+v", c)
	}
	if cfg.Templates[3].Confirm != nil {
		t.Fatal("a template without confirm has one")
	}
}

// Every mistake is an error at its line (the block opens on line 5).
func TestTemplateConfirmRefusesBadValues(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`confirm {}`, "set exactly one check"},
		{`confirm { tls = "127.0.0.1:443"  http = "http://127.0.0.1/" }`, "set exactly one check"},
		{`confirm { tls = "127.0.0.1" }`, `tls = "127.0.0.1" is not host:port`},
		{`confirm { tls = "127.0.0.1:0" }`, "is not host:port"},
		{`confirm { http = "127.0.0.1:8080/healthz" }`, "http must be an http:// or https:// URL"},
		{`confirm { command = "" }`, "command is empty"},
		{`confirm { server_name = "a.example.com"  http = "http://127.0.0.1/" }`, "server_name is the SNI of the tls check"},
		{`confirm { tls = "127.0.0.1:443"  timeout = "0s" }`, "timeout must be above 0"},
		{`confirm { tls = "127.0.0.1:443"  interval = "10ms" }`, "interval 10ms is below 100ms"},
		{`confirm { tls = "127.0.0.1:443"  timeout = "5s"  interval = "5s" }`, "is not shorter than timeout"},
		{`confirm { tls = "127.0.0.1:443"  reloads = 11 }`, "reloads must be 0 to 10"},
		{`confirm { tls = "127.0.0.1:443"  reloads = 0  restart_exec = true }`, "with reloads = 0 there is none"},
		{`confirm { tls = "127.0.0.1:443"  restart_exec = true }`, "there is no exec block"},
		{`confirm { tls = "127.0.0.1:443"  retries = 3 }`, "retries"},
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
