package injectorrun

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var startLine = regexp.MustCompile(`(?m)^start (\d+) key=(.*)$`)

// starts returns the app's starts as "pid key" pairs.
func starts(out string) [][2]string {
	var s [][2]string
	for _, m := range startLine.FindAllStringSubmatch(readFile(out), -1) {
		s = append(s, [2]string{m[1], m[2]})
	}
	return s
}

// TestEnvMode runs an env-mode pod as rendered: rotor-copy copies rotor to
// the shared volume, the native sidecar logs in and shares its token, and
// the app container's wrapper (the copied /rotor/bin/rotor agent) puts the
// secret in the app's environment; a KV write restarts the app with the
// new value (or, with env-on-change: SIGHUP, signals it). The pod logs in
// to Vault once.
func TestEnvMode(t *testing.T) {
	for _, mode := range []string{"restart", "SIGHUP"} {
		t.Run(mode, func(t *testing.T) {
			lab := newVaultLab(t)
			appDir := t.TempDir()
			app := writeApp(t, appDir, "envapp")
			out := filepath.Join(appDir, "app.out")
			ann := map[string]string{"rotorproject.github.io/env-API_KEY": `{{ with secret "secret/data/app/config" }}{{ .Data.data.api_key }}{{ end }}`}
			if mode != "restart" {
				ann["rotorproject.github.io/env-on-change"] = mode
			}
			p := render(t, lab.srv, podManifest(app, out, ann))
			p.serviceAccount(lab.token)

			// rotor-copy: copy-self onto the shared volume.
			p.run("rotor-copy")
			self, _ := os.ReadFile(p.rotor)
			copied, err := os.ReadFile(p.path("/rotor/bin/rotor"))
			if err != nil || !bytes.Equal(self, copied) {
				t.Fatalf("rotor-copy did not copy rotor to /rotor/bin/rotor (%d of %d bytes): %v", len(copied), len(self), err)
			}

			// The native sidecar: the secret file and the shared token.
			p.start("rotor-agent", nil)
			waitFor(t, 30*time.Second, "the sidecar's first render", func() bool {
				return strings.Contains(readFile(p.path("/vault/secrets/config")), "api_key:k-1") &&
					readFile(p.path("/rotor/token")) != ""
			})
			if st, _ := os.Stat(p.path("/rotor/token")); st.Mode().Perm() != 0o444 {
				t.Errorf("shared token mode %v, want 0444", st.Mode().Perm())
			}

			// The app container, as wrapped: the copied rotor runs it.
			if c := p.command(p.container("app")); c[0] != p.path("/rotor/bin/rotor") {
				t.Fatalf("the app container runs %v, not the copied rotor", c)
			}
			p.start("app", nil)
			waitFor(t, 30*time.Second, "the app's start with API_KEY", func() bool { return len(starts(out)) == 1 })
			first := starts(out)[0]
			if first[1] != "k-1" {
				t.Fatalf("the app did not get the secret in API_KEY (%d bytes)", len(first[1]))
			}

			lab.put(t, "k-2")
			if mode == "restart" {
				waitFor(t, 30*time.Second, "the app's restart with the new value", func() bool {
					s := starts(out)
					return len(s) >= 2 && s[len(s)-1][1] == "k-2"
				})
				if s := starts(out); s[1][0] == first[0] {
					t.Errorf("the app was not restarted: same pid %s", first[0])
				}
			} else {
				hup := fmt.Sprintf("hup %s key=k-1", first[0])
				waitFor(t, 30*time.Second, "the app's SIGHUP", func() bool { return strings.Contains(readFile(out), hup) })
				if n := len(starts(out)); n != 1 {
					t.Errorf("the app started %d times; with env-on-change SIGHUP it is signalled, not restarted", n)
				}
			}
			// One login for the pod: the wrapper used the sidecar's token.
			if n := lab.kube.Reviews(); n != 1 {
				t.Errorf("%d TokenReviews: the pod logged in %d times, want once", n, n)
			}
		})
	}
}
