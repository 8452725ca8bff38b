package examples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestMain builds rotor once for every example script (ROTOR_BIN), so no
// script's time limit pays for a build.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rotor-examples")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "rotor")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/rotor")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build rotor:", err)
		os.Exit(1)
	}
	os.Setenv("ROTOR_BIN", bin)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
