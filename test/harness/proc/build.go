package proc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Build compiles the main package pkg (such as "./cmd/rotor") of the
// module rooted at src, or of this module when src is "", into dir and
// returns the binary's path. flags go to go build before -o ("-trimpath",
// "-tags", "x", ...). It blocks for the build.
func Build(src, dir, pkg string, flags ...string) (string, error) {
	if src == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		src = root
	}
	name := filepath.Base(pkg)
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// BuildT is Build into a directory removed when the test ends; a failed
// build fails t.
func BuildT(t testing.TB, src, pkg string, flags ...string) string {
	t.Helper()
	bin, err := Build(src, t.TempDir(), pkg, flags...)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	rotorOnce sync.Once
	rotorDir  string
	rotorBin  string
	rotorErr  error
)

// Rotor returns rotor built from this module, once per test binary, so
// tests run it as users do. Call RemoveBuilds from TestMain to delete it.
func Rotor(t testing.TB) string {
	t.Helper()
	rotorOnce.Do(func() {
		if rotorDir, rotorErr = os.MkdirTemp("", "rotor-test-bin"); rotorErr != nil {
			return
		}
		rotorBin, rotorErr = Build("", rotorDir, "./cmd/rotor")
	})
	if rotorErr != nil {
		t.Fatalf("build rotor: %v", rotorErr)
	}
	return rotorBin
}

// RemoveBuilds deletes what Rotor built. Call it after m.Run in TestMain.
func RemoveBuilds() {
	if rotorDir != "" {
		os.RemoveAll(rotorDir)
	}
}

// Main runs the tests and then RemoveBuilds; a package whose tests call
// Rotor and that has no other TestMain uses it as its TestMain body.
func Main(m *testing.M) {
	code := m.Run()
	RemoveBuilds()
	os.Exit(code)
}
