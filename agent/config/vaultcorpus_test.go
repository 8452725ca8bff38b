package config

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// expectedDifferences are the fixtures of Vault Agent's own config tests on
// which rotor's verdict differs from Vault Agent's, on purpose. Every entry
// says why; anything else that differs fails TestVaultAgentFixtureVerdicts.
var expectedDifferences = map[string]string{}

// extraProblems are problems rotor reports in a fixture that Vault Agent
// refuses only for its auth method: keys Vault Agent silently ignores and
// rotor, strict, refuses.
var extraProblems = map[string]string{}

// TestVaultAgentFixtureVerdicts runs Vault Agent 1.21's own verdict
// (test/vault/agentcheck, built from Vault's module) and rotor's loader on
// every fixture of Vault's agent config tests, read from the module cache
// (they are not copied into rotor), and asserts that they agree: rotor
// accepts what Vault Agent accepts and refuses what it refuses.
func TestVaultAgentFixtureVerdicts(t *testing.T) {
	bin := proc.Find(t, proc.Lookup{
		Env:     "ROTOR_AGENTCHECK_BIN",
		Paths:   []string{"test/vault/bin/agentcheck"},
		Missing: "no agentcheck: run make test (it builds test/vault/bin/agentcheck) or set ROTOR_AGENTCHECK_BIN",
	})
	dir := vaultFixtures(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if (e.IsDir() && strings.HasPrefix(n, "config-dir-")) || (!e.IsDir() && (strings.HasSuffix(n, ".hcl") || strings.HasSuffix(n, ".json"))) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) < 50 {
		t.Fatalf("only %d fixtures in %s", len(names), dir)
	}
	vaultOK, loaderOK, agree := 0, 0, 0
	for _, n := range names {
		path := filepath.Join(dir, n)
		verdict, stage := agentcheck(t, bin, path)
		vaultAccepts := verdict == "ok"
		if vaultAccepts {
			vaultOK++
		}
		if vaultAccepts || (stage != "load" && stage != "") {
			loaderOK++
		}
		// Vault Agent logs in with VAULT_TOKEN when there is no auto_auth;
		// rotor wants one at load time, so the test gives it one.
		cfg, err := Load([]string{path}, env(map[string]string{"VAULT_TOKEN": "test-token"}))
		rotorAccepts := err == nil
		why, expected := expectedDifferences[n]
		switch {
		case expected && rotorAccepts == vaultAccepts:
			t.Errorf("%s: listed as an expected difference (%s) but rotor and Vault Agent agree now: remove it from the list", n, why)
		case expected:
			t.Logf("%s: expected difference: %s", n, why)
		case rotorAccepts != vaultAccepts:
			t.Errorf("%s: Vault Agent says %q; rotor says %v", n, verdict, describe(cfg, err))
		default:
			agree++
			if testing.Verbose() {
				t.Logf("%s: both say %s", n, describe(cfg, err))
			}
			// A refusal by Vault Agent's auth method constructor comes after
			// everything else was accepted: rotor must refuse for the same
			// reason only, proving it read the rest of the file.
			if stage == "auth" {
				for _, p := range problemsOf(err) {
					if !strings.Contains(p, "method \"") && (extraProblems[n] == "" || !strings.Contains(p, extraProblems[n])) {
						t.Errorf("%s: Vault Agent refuses only its auth method (%s); rotor also says: %s", n, verdict, p)
					}
				}
			}
		}
	}
	t.Logf("Vault Agent 1.21 accepts %d of %d fixtures (its loader alone: %d); rotor agrees on %d, and %d are expected differences",
		vaultOK, len(names), loaderOK, agree, len(expectedDifferences))
}

// vaultFixtures finds Vault's agent config fixtures in the module cache
// through the nested test module that depends on Vault.
func vaultFixtures(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hashicorp/vault")
	cmd.Dir = filepath.Join("..", "..", "test", "vault")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list the vault module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "command", "agent", "config", "test-fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Vault's agent config fixtures: %v", err)
	}
	return dir
}

// agentcheck returns Vault Agent's verdict ("ok" or "error: ...") and the
// stage that refused.
func agentcheck(t *testing.T, bin, path string) (string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	verdict := strings.TrimSpace(stdout.String())
	var ee *exec.ExitError
	switch {
	case err == nil && verdict == "ok":
		return verdict, ""
	case errors.As(err, &ee) && ee.ExitCode() == 1 && strings.HasPrefix(verdict, "error: "):
		stage, _ := strings.CutPrefix(strings.TrimSpace(stderr.String()), "stage: ")
		return verdict, stage
	}
	t.Fatalf("agentcheck %s: %v: %s %s", path, err, verdict, stderr.String())
	return "", ""
}

func problemsOf(err error) []string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Problems()
	}
	if err != nil {
		return []string{err.Error()}
	}
	return nil
}

func describe(cfg *Config, err error) string {
	if err != nil {
		return "refused:\n  " + strings.Join(problemsOf(err), "\n  ")
	}
	return "accepted (warnings: " + strings.Join(Warnings(cfg), "; ") + ")"
}
