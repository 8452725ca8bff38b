package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// What the Vault Agent injector (vault-k8s) runs in the containers it adds,
// verbatim: the container's argument to /bin/sh -ec, and the preStop hook
// of agent-revoke-on-shutdown (sleep agent-revoke-grace seconds, then
// revoke with the injector's -address flag).
const (
	injectorArg     = `echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json`
	injectorPreStop = `/bin/sleep %d && /bin/vault token revoke -address=%s -self`
)

// injectorPod is a Vault with the kubernetes auth method (its TokenReview
// answered by vaulttest's fake API server) and the vault-k8s image laid
// out with the pod's service account token where the kubelet mounts it.
type injectorPod struct {
	srv  *vaulttest.Server
	root *api.Client
	img  *imageLayout
}

const injectorPassword = "s3cret-password-for-the-pod"

func newInjectorPod(t *testing.T) *injectorPod {
	t.Helper()
	img := vaultK8sImage(t)
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	kube := vaulttest.SetupKubernetes(t, root, "kubernetes", "app", "app", "default", "1h")
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app" { capabilities = ["read"] }`)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"username": "appuser", "password": injectorPassword}); err != nil {
		t.Fatal(err)
	}
	sa := img.path("/var/run/secrets/kubernetes.io/serviceaccount")
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sa, "token"), []byte(kube.NewToken("default", "app")), 0o644); err != nil {
		t.Fatal(err)
	}
	return &injectorPod{srv: srv, root: root, img: img}
}

// config is the JSON the injector writes, base64-encoded as it puts it in
// VAULT_CONFIG, for a pod annotated with
//
//	vault.hashicorp.com/agent-inject-secret-app: secret/data/app
//	vault.hashicorp.com/agent-inject-secret-db: secret/data/app
//	vault.hashicorp.com/agent-inject-template-db: {{ with secret ... }}...
//
// and role "app"; init is the init container's (exit_after_auth). A
// cache address is the listener vault.hashicorp.com/agent-cache-enable
// adds (127.0.0.1:8200 in a pod).
func (p *injectorPod) config(t *testing.T, init bool, cache string) string {
	t.Helper()
	cfg := map[string]any{
		"auto_auth": map[string]any{
			"method": map[string]any{"type": "kubernetes", "mount_path": "auth/kubernetes", "config": map[string]any{"role": "app"}},
			"sink":   []any{map[string]any{"type": "file", "config": map[string]any{"path": "/home/vault/.vault-token"}}},
		},
		"exit_after_auth": init,
		"pid_file":        "/home/vault/.pid",
		"vault":           map[string]any{"address": p.srv.Addr},
		"template": []any{
			map[string]any{"destination": "/vault/secrets/app", "left_delimiter": "{{", "right_delimiter": "}}",
				"contents": `{{ with secret "secret/data/app" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}` + "\n" + `{{ end }}{{ end }}`},
			map[string]any{"destination": "/vault/secrets/db", "left_delimiter": "{{", "right_delimiter": "}}",
				"contents": `{{ with secret "secret/data/app" }}{{ .Data.data.username }}:{{ .Data.data.password }}{{ end }}`},
		},
		"template_config": map[string]any{"exit_on_retry_failure": true},
	}
	if cache != "" {
		cfg["listener"] = []any{map[string]any{"type": "tcp", "address": cache, "tls_disable": true}}
		cfg["cache"] = map[string]any{"use_auto_auth_token": "true"}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// run starts the injector's container command with its environment.
func (p *injectorPod) run(t *testing.T, env []string, argv ...string) (*proc.Process, *vaulttest.Buffer) {
	t.Helper()
	cmd := p.img.command(env, argv...)
	out := &vaulttest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	pr := proc.StartT(t, cmd)
	t.Cleanup(func() {
		if leaks := vaulttest.Leaks(out.String()); len(leaks) > 0 || strings.Contains(out.String(), injectorPassword) {
			t.Errorf("the container's output holds secrets: %v", leaks)
		}
		if t.Failed() {
			t.Logf("container output:\n%s", out.String())
		}
	})
	return pr, out
}

// checkRendered waits for the injector's two secrets files.
func (p *injectorPod) checkRendered(t *testing.T) {
	t.Helper()
	vaulttest.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(p.img.path("/vault/secrets/db"))
		if err != nil || string(b) != "appuser:"+injectorPassword {
			return fmt.Errorf("/vault/secrets/db not rendered yet (%v)", err)
		}
		// The two templates are written one after the other: wait for
		// both, not for the first.
		b, err = os.ReadFile(p.img.path("/vault/secrets/app"))
		if err != nil || !strings.Contains(string(b), "data: map[password:"+injectorPassword+" username:appuser]\n") {
			return fmt.Errorf("/vault/secrets/app with the injector's default template: %v\n%q", err, b)
		}
		return nil
	})
}

// The sidecar: the injector's exact command and environment render the
// secrets, logging in the format VAULT_LOG_FORMAT names at the level
// VAULT_LOG_LEVEL names; with the cache listener, the documented exec
// probe reports ready. The injector's exact preStop hook then revokes the
// token the agent wrote to its sink, and Vault no longer knows it.
func TestVaultK8sSidecarAndPreStop(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		json, cache   bool
	}{{"standard", "info", false, true}, {"json", "warn", true, false}} {
		t.Run(tc.format, func(t *testing.T) {
			pod := newInjectorPod(t)
			cache := ""
			if tc.cache {
				cache = freeAddr(t)
			}
			env := []string{"VAULT_LOG_LEVEL=" + tc.level, "VAULT_LOG_FORMAT=" + tc.format, "VAULT_CONFIG=" + pod.config(t, false, cache)}
			agent, out := pod.run(t, env, "/bin/sh", "-ec", injectorArg)
			pod.checkRendered(t)
			tok, err := os.ReadFile(pod.img.path("/home/vault/.vault-token"))
			if err != nil {
				t.Fatal(err)
			}
			token := strings.TrimSpace(string(tok))
			if _, err := pod.root.Auth().Token().Lookup(token); err != nil {
				t.Fatalf("the sink's token is not valid: %v", err)
			}
			checkLogFormat(t, out.String(), tc.json, tc.level == "info")
			if tc.cache {
				// The probe docs/kubernetes-injector.md adds with agent-json-patch.
				vaulttest.Eventually(t, 10*time.Second, func() error {
					if b, err := pod.img.command(env, "/bin/rotor", "health", "-ready", "-address", "http://"+cache).CombinedOutput(); err != nil {
						return fmt.Errorf("readiness probe: %v %s", err, b)
					}
					return nil
				})
			}

			// The kubelet runs the preStop hook in the container, with the
			// container's environment.
			hook := pod.img.command(env, "/bin/sh", "-c", fmt.Sprintf(injectorPreStop, 1, pod.srv.Addr))
			got, err := hook.CombinedOutput()
			if err != nil || strings.TrimSpace(string(got)) != "Success! Revoked token (if it existed)" {
				t.Fatalf("preStop: %v\n%s", err, got)
			}
			if strings.Contains(string(got), token) {
				t.Error("the preStop hook printed the token")
			}
			if _, err := pod.root.Auth().Token().Lookup(token); err == nil {
				t.Fatal("the token is still valid after the preStop hook")
			}
			// Then the kubelet stops the container.
			if !agent.Stop(syscall.SIGTERM, 15*time.Second) {
				t.Error("the agent did not stop on SIGTERM")
			}
		})
	}
}

// checkLogFormat checks that every line is a JSON object (json) or
// rotor's text format, and whether INFO lines appear (the level).
func checkLogFormat(t *testing.T, out string, wantJSON, wantInfo bool) {
	t.Helper()
	info, lines := false, 0
	for l := range strings.Lines(out) {
		lines++
		if wantJSON {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Errorf("VAULT_LOG_FORMAT=json: not a JSON line: %q", l)
				continue
			}
			info = info || m["level"] == "INFO"
		} else {
			if !strings.HasPrefix(l, "time=") {
				t.Errorf("VAULT_LOG_FORMAT=standard: not rotor's text format: %q", l)
			}
			info = info || strings.Contains(l, "level=INFO")
		}
	}
	if lines == 0 {
		t.Error("nothing logged")
	}
	if info != wantInfo {
		t.Errorf("INFO lines logged: %v, want %v", info, wantInfo)
	}
}

// The init container: the same command with the init config
// (exit_after_auth) renders the files and exits 0 before the application
// starts.
func TestVaultK8sInitContainer(t *testing.T) {
	pod := newInjectorPod(t)
	env := []string{"VAULT_LOG_LEVEL=info", "VAULT_LOG_FORMAT=standard", "VAULT_CONFIG=" + pod.config(t, true, "")}
	init, _ := pod.run(t, env, "/bin/sh", "-ec", injectorArg)
	if !init.Wait(30 * time.Second) {
		t.Fatal("the init container did not exit")
	}
	if code := init.ExitCode(); code != 0 {
		t.Fatalf("the init container exited %d", code)
	}
	pod.checkRendered(t)
	cfg, err := os.ReadFile(pod.img.path("/home/vault/config.json"))
	if err != nil || !json.Valid(cfg) {
		t.Errorf("/home/vault/config.json is not the decoded JSON config: %v", err)
	}
}

// vault proxy -config runs the configuration as Vault Proxy would: the API
// proxy answers with rotor's token, and template blocks, which Vault Proxy
// ignores, are ignored with a warning.
func TestVaultProxyCommand(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app" { capabilities = ["read"] }`)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "proxied-value"}); err != nil {
		t.Fatal(err)
	}
	roleID, secretID := vaulttest.SetupAppRole(t, root, "approle", "app", nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "role_id"), []byte(roleID), 0o600)
	os.WriteFile(filepath.Join(dir, "secret_id"), []byte(secretID), 0o600)
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "proxy.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" { config = { path = %q } }
}
api_proxy { use_auto_auth_token = true }
listener "tcp" {
  address     = %q
  tls_disable = true
}
template {
  destination = %q
  contents    = "{{ with secret \"secret/data/app\" }}{{ .Data.data.v }}{{ end }}"
}
`, srv.Addr, filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id"), filepath.Join(dir, "token"), addr, filepath.Join(dir, "rendered"))), 0o600)

	cmd := exec.Command(vaultLink(t), "proxy", "-config="+cfg)
	cmd.Env = proc.CleanEnv("VAULT_LOG_FORMAT=json")
	out := &vaulttest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	p := proc.StartT(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vault proxy output:\n%s", out.String())
		}
	})
	vaulttest.Eventually(t, 20*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/v1/sys/health")
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	got := proxyCall(t, "GET", "http://"+addr+"/v1/secret/data/app", "")
	if data, _ := got.body["data"].(map[string]any); data == nil || fmt.Sprint(data["data"]) != "map[v:proxied-value]" {
		t.Errorf("the proxied read: %v", got.body)
	}
	if !strings.Contains(out.String(), `"ignored":"1 template block(s)"`) {
		t.Errorf("no warning that the template block is ignored")
	}
	if !p.Stop(syscall.SIGTERM, 15*time.Second) {
		t.Error("vault proxy did not stop on SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(dir, "rendered")); err == nil {
		t.Error("vault proxy rendered a template")
	}
}
