package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ignoredConfig is a configuration Vault Agent starts, with keys it
// ignores: a misspelt pid_file and exit_on_err written in auto_auth.
const ignoredConfig = `pi_file = "/tmp/rotor-strict-test.pid"
auto_auth {
  method "token_file" { config = { token_file_path = "/nonexistent/token" } }
  sink "file" { config = { path = "/tmp/rotor-strict-test-sink" } }
  exit_on_err = true
}
`

// rotor validate passes a configuration Vault Agent would start, and
// prints what Vault Agent would ignore; -strict refuses it.
func TestValidateWarnsAndStrictRefuses(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(cfg, []byte(ignoredConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	warnings := []string{
		cfg + `:1:1: Ignored: top level: "pi_file" is ignored: Vault Agent does not read it here; rotor does not act on it either. Did you mean "pid_file"?`,
		cfg + `:5:3: Ignored: auto_auth: "exit_on_err" is ignored: Vault Agent reads exit_on_err only inside cache.persist or inside method, not here`,
	}
	var out, errb bytes.Buffer
	if code := run([]string{"validate", "-config", cfg}, &out, &errb); code != exitOK {
		t.Fatalf("validate exit %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, w := range warnings {
		if !strings.Contains(errb.String(), "warning: "+w) {
			t.Errorf("validate output lacks %q:\n%s", w, errb.String())
		}
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"validate", "-strict", "-config", cfg}, &out, &errb); code != exitFailed {
		t.Fatalf("validate -strict exit %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, w := range warnings {
		if !strings.Contains(errb.String(), "  "+w) || !strings.Contains(errb.String(), "(an error under -strict)") {
			t.Errorf("validate -strict output lacks the error %q:\n%s", w, errb.String())
		}
	}
	// The agent: -strict refuses to start; without it, the warnings are
	// in its log when it starts.
	errb.Reset()
	if code := cmdAgent(context.Background(), []string{"-strict", "-config", cfg}, &errb); code != exitFailed ||
		!strings.Contains(errb.String(), warnings[0]) {
		t.Fatalf("agent -strict exit %d:\n%s", code, errb.String())
	}
	errb.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the agent stops as soon as it started
	cmdAgent(ctx, []string{"-config", cfg}, &errb)
	for _, w := range warnings {
		// The log quotes the warning as a field value.
		if !strings.Contains(errb.String(), "level=WARN msg=configuration warning=\""+strings.ReplaceAll(w, `"`, `\"`)) {
			t.Errorf("the agent's log lacks %q:\n%s", w, errb.String())
		}
	}
}
