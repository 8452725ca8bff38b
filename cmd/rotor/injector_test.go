package main

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInjectorRenderYAML runs `rotor injector render -f pod.yaml -o yaml`
// as a user would and checks the printed pod.
func TestInjectorRenderYAML(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"injector", "render", "-f", "../../injector/testdata/pod.yaml", "-o", "yaml"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"name: rotor-agent", "restartPolicy: Always", "startupProbe:", "vault.hashicorp.com/agent-inject-status: injected", "mountPath: /vault/secrets"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "warning: Pod orders: vault.hashicorp.com/agent-inject-frobnicate: unknown annotation") {
		t.Errorf("stderr lacks the unknown annotation's warning: %q", errb.String())
	}
	// Bad input names the problem and fails.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("kind: Pod\nmetadata:\n  annotations:\n    vault.hashicorp.com/agent-inject: \"true\"\nspec:\n  containers: [{name: app}]\n"), 0o600)
	errb.Reset()
	if code := run([]string{"injector", "render", "-f", bad}, &out, &errb); code != exitFailed || !strings.Contains(errb.String(), "no Vault role") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

// TestConfigFromEnv checks -config-env: base64 JSON (as VAULT_CONFIG)
// and plain HCL, each written to a file named after its variable.
func TestConfigFromEnv(t *testing.T) {
	t.Setenv(configDirEnv, t.TempDir())
	t.Setenv("ROTOR_TEST_JSON", base64.StdEncoding.EncodeToString([]byte(`{"pid_file": "/tmp/x"}`)))
	t.Setenv("ROTOR_TEST_HCL", `pid_file = "/tmp/y"`)
	files, dir, err := configFromEnv([]string{"ROTOR_TEST_JSON", "ROTOR_TEST_HCL"})
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if len(files) != 2 || filepath.Base(files[0]) != "ROTOR_TEST_JSON.json" || filepath.Base(files[1]) != "ROTOR_TEST_HCL.hcl" {
		t.Fatalf("files %v", files)
	}
	if b, _ := os.ReadFile(files[0]); string(b) != `{"pid_file": "/tmp/x"}` {
		t.Errorf("decoded %q", b)
	}
	if st, _ := os.Stat(files[1]); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if _, _, err := configFromEnv([]string{"ROTOR_TEST_UNSET_VARIABLE"}); err == nil || !strings.Contains(err.Error(), "not set") {
		t.Errorf("unset variable: %v", err)
	}
	if _, _, err := configFromEnv([]string{"../ROTOR_TEST_HCL"}); err == nil || !strings.Contains(err.Error(), "not an environment variable name") {
		t.Errorf("a name with a path separator: %v", err)
	}
}
