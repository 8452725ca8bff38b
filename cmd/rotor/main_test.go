package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"validate", "-config", "../../agent/config/testdata/seed.hcl"}, exitOK, "configuration is valid"},
		{[]string{"validate", "-config", "../../agent/config/testdata/typo.hcl"}, exitFailed, `warning: ../../agent/config/testdata/typo.hcl:2:3: Ignored: vault: "adress" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "address"?`},
		{[]string{"validate"}, exitFailed, "no configuration given"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"version"}, exitOK, "rotor dev"},
		{[]string{"agent", "-log-format", "xml", "-config", "x"}, exitUsage, "-log-format"},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		all := out.String() + errb.String()
		if code != c.code || !strings.Contains(all, c.want) {
			t.Errorf("%v: code %d, output:\n%s\nwant code %d and %q", c.args, code, all, c.code, c.want)
		}
	}
}

// rotor validate is run on untrusted configurations (a CI job checking a
// pull request): it must parse templates only, never execute them. A
// template calling plugin and writeToFile validates and leaves no trace.
func TestValidateNeverExecutesTemplates(t *testing.T) {
	dir := t.TempDir()
	ran, written := filepath.Join(dir, "plugin-ran"), filepath.Join(dir, "written")
	tpl := fmt.Sprintf(`{{ plugin "/bin/sh" "-c" "touch %s" }}{{ writeToFile %q "pwned" "" "0644" }}`, ran, written)
	cfg := filepath.Join(dir, "rotor.hcl")
	hcl := fmt.Sprintf(`
auto_auth {
  method "token_file" {
    config = { token_file_path = "/nonexistent/token" }
  }
}
template {
  contents    = %q
  destination = %q
}
template {
  source      = %q
  destination = %q
}
`, tpl, filepath.Join(dir, "out1"), filepath.Join(dir, "t.tpl"), filepath.Join(dir, "out2"))
	os.WriteFile(cfg, []byte(hcl), 0o600)
	os.WriteFile(filepath.Join(dir, "t.tpl"), []byte(tpl), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "-config", cfg}, &out, &errb); code != exitOK {
		t.Fatalf("validate exit %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, p := range []string{ran, written, filepath.Join(dir, "out1"), filepath.Join(dir, "out2")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("validate left %s behind: it executed a template", p)
		}
	}
}

// -log-file sends every log line to the file (rotated by lumberjack), and
// nothing to stderr.
func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	cfg, logf := filepath.Join(dir, "rotor.hcl"), filepath.Join(dir, "logs", "rotor.log")
	os.Mkdir(filepath.Join(dir, "logs"), 0o700)
	os.WriteFile(cfg, []byte(`
vault { address = "http://127.0.0.1:1" }
auto_auth {
  method "approle" {
    exit_on_err = true
    config = { role_id_file_path = "/nonexistent/role_id" }
  }
  sink "file" {
    config = { path = "/nonexistent/sink" }
  }
}
`), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"agent", "-log-file", logf, "-config", cfg}, &out, &errb); code != exitFailed {
		t.Fatalf("exit %d, want %d", code, exitFailed)
	}
	b, err := os.ReadFile(logf)
	if err != nil || !strings.Contains(string(b), "/nonexistent/role_id") || !strings.Contains(string(b), "rotor stopped") {
		t.Fatalf("log file: %v\n%s", err, b)
	}
	if errb.Len() != 0 {
		t.Fatalf("stderr got log lines:\n%s", errb.String())
	}
	if code := run([]string{"agent", "-log-file", filepath.Join(cfg, "x.log"), "-config", cfg}, &out, &errb); code != exitUsage {
		t.Fatalf("an unwritable log file: exit %d, want %d", code, exitUsage)
	}
}
