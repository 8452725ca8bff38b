// Package examples runs every example script as a newcomer would, against
// a throwaway Vault, and checks what it prints. The demo has its own test
// (demo_test.go).
package examples

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

func TestExamples(t *testing.T) {
	vault := vaulttest.VaultBin(t)
	cases := map[string][]string{
		"supervisor": {"app: started as demo ", "app: started as demo-v2 ", "rotor exited with status 0"},
		"pipeline":   {"job: running the migration as demo", "passed through by rotor: 3"},
		"init":       {"rotor exited 0", "app.env", "certificates in server.crt: 3"},
		"restart":    {"no state file yet", "reusing the saved token and leases", "reloads: 0"},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", filepath.Join(name, "run.sh"))
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(vault)+":"+os.Getenv("PATH"))
			// bash's trap cleans up on TERM; SIGKILL would leave Vault running.
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			cmd.WaitDelay = 20 * time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s/run.sh: %v\n%s", name, err, out)
			}
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s/run.sh output lacks %q:\n%s", name, w, out)
				}
			}
		})
	}
}
