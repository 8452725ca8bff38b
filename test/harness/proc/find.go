package proc

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModulePath is the module whose root ModuleRoot finds.
const ModulePath = "github.com/rotorproject/rotor"

// EnvRequireIntegration, when "1", turns a missing binary into a test
// failure instead of a skip, so CI cannot pass by skipping.
const EnvRequireIntegration = "ROTOR_REQUIRE_INTEGRATION"

// Lookup says where Find looks for a binary, in this order.
type Lookup struct {
	// Env names an environment variable that, when set, wins over every
	// other place; if it names no executable file the test fails.
	Env string
	// Paths are candidate files; a relative one is under the module root.
	Paths []string
	// Name is looked up on $PATH when not empty.
	Name string
	// Missing is the message when nothing is found: what to install or set.
	Missing string
}

// Find returns the first executable file l names. When there is none the
// test is skipped, or fails if $ROTOR_REQUIRE_INTEGRATION is "1".
func Find(t testing.TB, l Lookup) string {
	t.Helper()
	if l.Env != "" {
		if p := os.Getenv(l.Env); p != "" {
			// An explicit setting that points nowhere is a mistake, not a reason to skip.
			if !IsExecutable(p) {
				t.Fatalf("%s=%q is not an executable file", l.Env, p)
			}
			return p
		}
	}
	root, rootErr := ModuleRoot()
	for _, p := range l.Paths {
		if !filepath.IsAbs(p) {
			if rootErr != nil {
				continue
			}
			p = filepath.Join(root, p)
		}
		if IsExecutable(p) {
			return p
		}
	}
	if l.Name != "" {
		if p, err := exec.LookPath(l.Name); err == nil {
			return p
		}
	}
	Missing(t, l.Missing)
	return ""
}

// Missing skips t because something it needs is not installed, or fails it
// if $ROTOR_REQUIRE_INTEGRATION is "1".
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvRequireIntegration) == "1" {
		t.Fatalf("%s (%s=1)", msg, EnvRequireIntegration)
	}
	t.Skip(msg)
}

// IsExecutable reports whether p is a regular file with an execute bit.
func IsExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// ModuleRoot returns the directory of the rotor module's go.mod, walking up
// from the working directory. Nested modules (test/vault, test/monitoring)
// are passed over because their go.mod names a different module.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if goModIs(filepath.Join(dir, "go.mod"), ModulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("proc: no go.mod for module " + ModulePath + " above the working directory")
		}
		dir = parent
	}
}

// goModIs reports whether the go.mod at path declares module mod.
func goModIs(path, mod string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == mod
		}
	}
	return false
}
