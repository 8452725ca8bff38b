package proc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if !goModIs(filepath.Join(root, "go.mod"), ModulePath) {
		t.Fatalf("%s/go.mod is not module %s", root, ModulePath)
	}
}

func TestFindOrder(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROC_TEST_BIN", "")
	if got := Find(t, Lookup{Env: "PROC_TEST_BIN", Paths: []string{plain, exe}}); got != exe {
		t.Errorf("Find = %q, want the first executable path %q", got, exe)
	}
	t.Setenv("PROC_TEST_BIN", exe)
	if got := Find(t, Lookup{Env: "PROC_TEST_BIN", Paths: []string{"/nonexistent"}}); got != exe {
		t.Errorf("Find = %q, want $PROC_TEST_BIN %q", got, exe)
	}
}

func TestFindMissingSkips(t *testing.T) {
	t.Setenv(EnvRequireIntegration, "")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Find(t, Lookup{Paths: []string{"/nonexistent/tool"}, Missing: "tool not installed"})
	})
	if !skipped {
		t.Error("a missing binary did not skip the test")
	}
}

func TestCleanEnv(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://elsewhere")
	t.Setenv("BAO_TOKEN", "t")
	env := CleanEnv("X=1")
	for _, kv := range env {
		if kv == "VAULT_ADDR=http://elsewhere" || kv == "BAO_TOKEN=t" {
			t.Errorf("CleanEnv kept %s", kv)
		}
	}
	if env[len(env)-1] != "X=1" {
		t.Errorf("CleanEnv did not end with the extra variable: %q", env[len(env)-1])
	}
}
