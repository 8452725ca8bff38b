package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// There is no Docker engine in CI: this test checks the Dockerfile and
// builds the binary with exactly the flags its build stage uses, then
// checks that the result is static and runs.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{"FROM golang:", " AS build", "distroless/static", "USER 65532", "HEALTHCHECK", `"health"`, "ENTRYPOINT"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	m := regexp.MustCompile(`RUN (CGO_ENABLED=0) go build (.*) -o /out/rotor (\./cmd/rotor)`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no static go build line in the Dockerfile")
	}
	flags := strings.ReplaceAll(m[2], "${VERSION}", "test")
	out := filepath.Join(t.TempDir(), "rotor")
	args := []string{"build"}
	for _, f := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(flags, -1) {
		args = append(args, strings.Trim(f, `"`))
	}
	args = append(args, "-o", out, m[3])
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), m[1])
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary is dynamically linked: the distroless/static base cannot run it")
		}
	}
	v, err := exec.Command(out, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "rotor test" {
		t.Fatalf("rotor version: %q %v", v, err)
	}
}
