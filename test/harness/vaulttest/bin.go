package vaulttest

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// modulePath is the module whose root holds test/vault/bin/vault.
const modulePath = "github.com/rotorproject/rotor"

// Environment variables read by this package.
const (
	// EnvVaultBin names an explicit Vault binary; it wins over every other location.
	EnvVaultBin = "ROTOR_VAULT_BIN"
	// EnvRequireIntegration, when "1", turns a missing Vault binary into a
	// test failure instead of a skip, so CI cannot pass by skipping.
	EnvRequireIntegration = "ROTOR_REQUIRE_INTEGRATION"
)

// VaultBin returns the path of the Vault binary to test against. It looks,
// in order, at $ROTOR_VAULT_BIN, <module root>/test/vault/bin/vault and
// `vault` on $PATH. When none exists the test is skipped, or fails if
// $ROTOR_REQUIRE_INTEGRATION is "1".
func VaultBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvVaultBin); p != "" {
		// An explicit setting that points nowhere is a mistake, not a reason to skip.
		if !isExecutable(p) {
			t.Fatalf("vaulttest: %s=%q is not an executable file", EnvVaultBin, p)
		}
		return p
	}
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, "test", "vault", "bin", "vault")
		if isExecutable(p) {
			return p
		}
	}
	if p, err := exec.LookPath("vault"); err == nil {
		return p
	}
	const msg = "vaulttest: no Vault binary: build it with `make vault` " +
		"(writes test/vault/bin/vault) or set " + EnvVaultBin
	if os.Getenv(EnvRequireIntegration) == "1" {
		t.Fatalf("%s (%s=1)", msg, EnvRequireIntegration)
	}
	t.Skip(msg)
	return ""
}

// ModuleRoot returns the directory of the rotor module's go.mod, walking up
// from the working directory. Nested modules (such as test/vault) are skipped
// because their go.mod names a different module.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if goModIs(filepath.Join(dir, "go.mod"), modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("vaulttest: no go.mod for module " + modulePath + " above the working directory")
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

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
