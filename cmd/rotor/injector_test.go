package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
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

// TestInjectorRenderAgentProcess renders the EKS pod of
// injector/testdata/agent-process.yaml as a user would and checks that
// rotor itself accepts each rotor container's configuration (the quit
// listener with its empty cache block, the aws method) and that the
// sidecar's environment carries what the annotations ask for.
func TestInjectorRenderAgentProcess(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"injector", "render", "-f", "../../injector/testdata/agent-process.yaml", "-o", "json"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc struct {
		Spec struct {
			Template struct {
				Spec struct {
					InitContainers, Containers []struct {
						Name string
						Env  []struct{ Name, Value string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	ps := doc.Spec.Template.Spec
	dir := t.TempDir()
	seen := 0
	for _, c := range append(ps.InitContainers, ps.Containers...) {
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		if !strings.HasPrefix(c.Name, "rotor-agent") {
			continue
		}
		seen++
		for k, want := range map[string]string{"VAULT_CLIENT_TIMEOUT": "30s", "VAULT_MAX_RETRIES": "5", "GOMAXPROCS": "2",
			"AWS_ROLE_ARN": "arn:aws:iam::111122223333:role/reports", "AWS_REGION": "eu-west-1"} {
			if env[k] != want {
				t.Errorf("%s: %s = %q, want %q", c.Name, k, env[k], want)
			}
		}
		raw, err := base64.StdEncoding.DecodeString(env["VAULT_CONFIG"])
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, c.Name+".json")
		if err := os.WriteFile(f, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		var vout, verr bytes.Buffer
		if code := run([]string{"validate", "-config", f}, &vout, &verr); code != exitOK {
			t.Errorf("%s: rotor validate exit %d: %s %s", c.Name, code, vout.String(), verr.String())
		}
	}
	if seen != 2 {
		t.Errorf("%d rotor containers, want the init container and the sidecar", seen)
	}
}
