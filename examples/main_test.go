package examples

import (
	"fmt"
	"os"
	"testing"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// TestMain builds rotor once for every example script (ROTOR_BIN), and the
// demo's narrator (ROTOR_DEMO_NARRATOR), so no script's time limit pays
// for a build.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rotor-examples")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for env, pkg := range map[string]string{"ROTOR_BIN": "./cmd/rotor", "ROTOR_DEMO_NARRATOR": "./examples/demo/narrate"} {
		bin, err := proc.Build("", dir, pkg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv(env, bin)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
