package injectorrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/kubeapi"
)

// TestRestartOnChange runs a restart-on-change Deployment's sidecar as
// rendered, with the API server a fake that checks the service account
// token: the first render patches nothing, nor does the first render of a
// restarted sidecar whose secret changed while it was down (a new pod
// cannot restart its workload: no loop); a change after that restarts the
// Deployment once, with kubectl's patch; a further change, the restart
// already under way, patches nothing more.
func TestRestartOnChange(t *testing.T) {
	lab := newVaultLab(t)
	api := kubeapi.Start(t)
	api.SetToken(lab.token) // one service account token: Vault's login and the API server's
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	api.Add("Pod", "apps", "web-7d9f-abcde", "ReplicaSet/web-7d9f", created)
	api.Add("ReplicaSet", "apps", "web-7d9f", "Deployment/web", created)
	dep := api.Add("Deployment", "apps", "web", "", created.Add(-time.Hour))

	manifest := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "apps"},
		"spec": map[string]any{"template": podManifest("/bin/true", "", map[string]string{
			"rotorproject.github.io/restart-on-change": "true",
			"rotorproject.github.io/restart-debounce":  "1s"})}}
	p := render(t, lab.srv, manifest)
	p.env = api.Env()
	sa := p.path("/var/run/secrets/kubernetes.io/serviceaccount")
	api.WriteServiceAccount(t, sa, "apps")
	fields := map[string]string{"metadata.name": "web-7d9f-abcde", "metadata.namespace": "apps"}
	state := p.path("/home/vault/.restart-state.json")
	succeeded := func() int { return strings.Count(p.logs["rotor-agent"].String(), "reload command succeeded") }

	sidecar := p.start("rotor-agent", fields)
	waitFor(t, 30*time.Second, "the first render's restart command", func() bool { return succeeded() == 1 })
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("the restart command kept no state: %v", err)
	}
	if n := len(api.Requests()); n != 0 {
		t.Fatalf("the first render made %d API requests", n)
	}

	// The sidecar stops, the secret changes, a new sidecar process renders
	// it: its first render, no restart.
	if !sidecar.Stop(os.Interrupt, 10*time.Second) {
		t.Fatal("the sidecar did not stop")
	}
	lab.put(t, "k-2")
	p.start("rotor-agent", fields) // a new log: succeeded() counts from 0
	waitFor(t, 30*time.Second, "the restarted sidecar's first render", func() bool {
		return strings.Contains(readFile(p.path("/vault/secrets/config")), "api_key:k-2") && succeeded() == 1
	})
	if n := len(api.Requests()); n != 0 {
		t.Fatalf("a restarted sidecar's first render made %d API requests", n)
	}

	// A change seen by this process: one restart, as kubectl makes it.
	lab.put(t, "k-3")
	waitFor(t, 30*time.Second, "the Deployment's patch", func() bool { return len(api.Patches()) == 1 })
	patch := api.Patches()[0]
	ann := api.Object(dep)["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
	at, err := time.Parse(time.RFC3339, ann["kubectl.kubernetes.io/restartedAt"].(string))
	if err != nil || at.Before(created) {
		t.Fatalf("restartedAt %v, %v", ann, err)
	}
	want := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"` + at.Format(time.RFC3339) + `"}}}}}`
	if patch.Path != dep || patch.Body != want || patch.ContentType != "application/strategic-merge-patch+json" || !patch.Authorized {
		t.Errorf("patch %+v, want body %s", patch, want)
	}

	// Another change: the restart requested after this pod was created
	// replaces it already.
	gets := func() int {
		n := 0
		for _, r := range api.Requests() {
			if r.Method == "GET" && r.Path == dep {
				n++
			}
		}
		return n
	}
	lab.put(t, "k-4")
	waitFor(t, 30*time.Second, "the second change's restart command", func() bool { return gets() == 2 && succeeded() == 3 })
	if n := len(api.Patches()); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}
	if !strings.Contains(readFile(filepath.Join(p.dir, "vault/secrets/config")), "api_key:k-4") {
		t.Error("the file does not hold the last value")
	}
}
