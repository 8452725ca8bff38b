package examples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
	for env, pkg := range map[string]string{"ROTOR_BIN": "../cmd/rotor", "ROTOR_DEMO_NARRATOR": "./demo/narrate"} {
		bin := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg+":", err)
			os.Exit(1)
		}
		os.Setenv(env, bin)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
