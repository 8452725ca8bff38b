package injectorrun

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestClassicInitHandsOffToSidecar runs a classic pod's two rotor
// containers as rendered: the init container logs in, renders and saves
// its token and secrets in the pod's rotor-state volume; the sidecar
// starts from them. One login per pod (vault-k8s's pair makes two), and
// the sidecar leaves the file the app started with untouched. A sidecar
// the kubelet restarts starts from the state too.
func TestClassicInitHandsOffToSidecar(t *testing.T) {
	lab := newVaultLab(t)
	root := lab.srv.Client(t)
	tokens := func() int {
		s, err := root.Logical().List("auth/token/accessors")
		if err != nil || s == nil {
			t.Fatalf("list accessors: %v", err)
		}
		return len(s.Data["keys"].([]any))
	}
	p := render(t, lab.srv, podManifest("/bin/true", "", map[string]string{"rotorproject.github.io/sidecar": "classic"}))
	p.serviceAccount(lab.token)
	before := tokens()
	out := p.path("/vault/secrets/config")

	p.run("rotor-agent-init")
	if got := readFile(out); !strings.Contains(got, "api_key:k-1") {
		t.Fatalf("the init container rendered %q", got)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.path("/rotor-state/rotor.state")); err != nil {
		t.Fatalf("the init container left no state: %v", err)
	}

	for i := range 2 { // the sidecar, then the sidecar restarted by the kubelet
		sidecar := p.start("rotor-agent", nil)
		waitFor(t, 30*time.Second, "the sidecar's first render", func() bool {
			return strings.Contains(p.logs["rotor-agent"].String(), "all templates rendered")
		})
		logs := p.logs["rotor-agent"].String()
		if !strings.Contains(logs, "state file loaded") {
			t.Fatalf("sidecar start %d did not load the state", i+1)
		}
		if n := tokens() - before; n != 1 {
			t.Fatalf("after sidecar start %d: %d logins for the pod, want 1 (the init container's)", i+1, n)
		}
		if now, err := os.Stat(out); err != nil || !now.ModTime().Equal(fi.ModTime()) {
			t.Fatalf("sidecar start %d rewrote the file the app started with (%v)", i+1, err)
		}
		if !sidecar.Stop(os.Interrupt, 10*time.Second) {
			t.Fatal("the sidecar did not stop")
		}
	}
}
