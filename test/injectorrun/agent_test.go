package injectorrun

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentContainerAnnotations runs a native sidecar rendered with
// vault-k8s's agent-service-account-token-volume-name and
// agent-json-patch against a real Vault: it logs in with the token of the
// named projected volume, at the path where the app mounts it (the
// kubelet's default token is absent, so any other path fails the login),
// and runs as the patch left it (JSON logs instead of text).
func TestAgentContainerAnnotations(t *testing.T) {
	lab := newVaultLab(t)
	m := podManifest("/bin/true", "", map[string]string{
		"vault.hashicorp.com/agent-service-account-token-volume-name": "vault-token",
		"vault.hashicorp.com/agent-json-patch": `[{"op":"test","path":"/command/4","value":"-log-format"},` +
			`{"op":"replace","path":"/command/5","value":"json"}]`,
	})
	spec := m["spec"].(map[string]any)
	app := spec["containers"].([]any)[0].(map[string]any)
	app["volumeMounts"] = append(app["volumeMounts"].([]any), map[string]any{"name": "vault-token", "mountPath": "/var/run/secrets/tokens"})
	spec["volumes"] = []any{map[string]any{"name": "vault-token", "projected": map[string]any{"sources": []any{
		map[string]any{"serviceAccountToken": map[string]any{"path": "vault-jwt", "audience": "vault"}}}}}}
	p := render(t, lab.srv, m)

	dir := p.path("/var/run/secrets/tokens")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vault-jwt"), []byte(lab.token), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start("rotor-agent", nil)
	waitFor(t, 30*time.Second, "the secret rendered", func() bool {
		return strings.Contains(readFile(p.path("/vault/secrets/config")), "api_key:k-1")
	})
	lines := strings.Split(strings.TrimSpace(p.logs["rotor-agent"].String()), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec["msg"] == nil {
		t.Errorf("the patched -log-format json is not in effect: first line %q", lines[0])
	}
}
