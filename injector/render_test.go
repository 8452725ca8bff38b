package injector

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRenderGolden renders each testdata/*.yaml and compares the result
// (YAML, configs decoded for review) with its .golden file.
func TestRenderGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := Render(in, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, d := range docs {
				if !d.Injected {
					t.Errorf("%s %s: not injected", d.Kind, d.Name)
				}
				if err := Encode(&buf, []any{d.Object}, "yaml"); err != nil {
					t.Fatal(err)
				}
				for _, w := range d.Warnings {
					buf.WriteString("# warning: " + w.String() + "\n")
				}
				// The configs, decoded, so that a review sees them.
				buf.WriteString(decodedConfigs(t, d.Object))
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s (run with -update to accept):\n%s", f, golden, buf.String())
			}
		})
	}
}

// decodedConfigs lists every base64 configuration in the object's env.
func decodedConfigs(t *testing.T, obj any) string {
	var out strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if name, _ := x["name"].(string); name == "VAULT_CONFIG" || name == "ROTOR_EXEC_CONFIG" {
				b, err := base64.StdEncoding.DecodeString(x["value"].(string))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, b, "# ", "  "); err != nil {
					t.Fatalf("%s is not JSON: %v", name, err)
				}
				out.WriteString("# " + name + ":\n# " + pretty.String() + "\n")
			}
			keys := sortedKeys(x)
			for _, k := range keys {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(obj)
	return out.String()
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// TestRenderNativeSidecar checks what the issue asks of a rendered pod:
// one rotor init container with restartPolicy Always, a startup probe on
// rotor's readiness, and the secret's template in its configuration, with
// the secrets volume in the app container.
func TestRenderNativeSidecar(t *testing.T) {
	in, err := os.ReadFile("testdata/pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Render(in, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Metadata struct{ Annotations map[string]string }
		Spec     struct {
			InitContainers []struct {
				Name, RestartPolicy string
				Command             []string
				Env                 []struct{ Name, Value string }
				StartupProbe        *struct{ Exec struct{ Command []string } }
			}
			Containers []struct {
				Name         string
				VolumeMounts []struct{ Name, MountPath string }
			}
		}
	}
	b, _ := json.Marshal(docs[0].Object)
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.InitContainers) != 1 || len(p.Spec.Containers) != 1 {
		t.Fatalf("want one init container and the app, got %d and %d", len(p.Spec.InitContainers), len(p.Spec.Containers))
	}
	rc := p.Spec.InitContainers[0]
	if rc.Name != sidecarName || rc.RestartPolicy != "Always" {
		t.Errorf("init container %q restartPolicy %q", rc.Name, rc.RestartPolicy)
	}
	if rc.StartupProbe == nil || strings.Join(rc.StartupProbe.Exec.Command[1:], " ") != "health -ready -address http://127.0.0.1:8210" {
		t.Errorf("startup probe %+v", rc.StartupProbe)
	}
	var cfg agentConfig
	for _, e := range rc.Env {
		if e.Name == "VAULT_CONFIG" {
			raw, _ := base64.StdEncoding.DecodeString(e.Value)
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(cfg.Templates) != 2 || cfg.Templates[0].Destination != "/vault/secrets/config.json" ||
		!strings.Contains(cfg.Templates[0].Contents, `secret "secret/data/orders/config"`) || cfg.Templates[0].Perms != "0640" {
		t.Errorf("templates %+v", cfg.Templates)
	}
	if len(cfg.Listener) != 1 || cfg.Listener[0].Address != "127.0.0.1:8210" || cfg.ExitAfterAuth {
		t.Errorf("listener %+v, exit_after_auth %v", cfg.Listener, cfg.ExitAfterAuth)
	}
	if m := p.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].Name != secretVolume || m[0].MountPath != "/vault/secrets" {
		t.Errorf("app mounts %+v", m)
	}
	if p.Metadata.Annotations[annStatus] != "injected" {
		t.Errorf("status annotation missing")
	}
	// Never twice: the rendered pod renders to itself.
	again, err := Render(b, DefaultOptions())
	if err != nil || again[0].Injected {
		t.Errorf("second render: injected %v, err %v", again[0].Injected, err)
	}
}
