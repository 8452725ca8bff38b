package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// There is no Docker engine in CI: this test checks the Dockerfile and
// builds the binary with exactly the flags its build stage uses, for
// each architecture of the multi-architecture image (buildx's TARGETOS
// and TARGETARCH), then checks that each result is static and that the
// one for this machine runs.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{"FROM --platform=$BUILDPLATFORM golang:", " AS build", "ARG TARGETOS", "ARG TARGETARCH",
		"distroless/static", "USER 65532", "HEALTHCHECK", `"health"`, "ENTRYPOINT",
		"docker buildx build --platform linux/amd64,linux/arm64"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	m := regexp.MustCompile(`RUN (CGO_ENABLED=0) (GOOS=\$\{TARGETOS\}) (GOARCH=\$\{TARGETARCH\}) go build (.*) -o /out/rotor (\./cmd/rotor)`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no static, cross-compiling go build line (CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}) in the Dockerfile")
	}
	flags := strings.ReplaceAll(m[4], "${VERSION}", "test")
	for _, arch := range []struct {
		goarch  string
		machine elf.Machine
	}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
		out := filepath.Join(t.TempDir(), "rotor")
		args := []string{"build"}
		for _, f := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(flags, -1) {
			args = append(args, strings.Trim(f, `"`))
		}
		args = append(args, "-o", out, m[5])
		cmd := exec.Command("go", args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), m[1], "GOOS=linux", "GOARCH="+arch.goarch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: go %v: %v\n%s", arch.goarch, args, err, b)
		}
		f, err := elf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != arch.machine {
			t.Errorf("%s: built for %v", arch.goarch, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatalf("%s: the binary is dynamically linked: the distroless/static base cannot run it", arch.goarch)
			}
		}
		f.Close()
		if runtime.GOOS != "linux" || runtime.GOARCH != arch.goarch {
			continue
		}
		v, err := exec.Command(out, "version").Output()
		if first, _, _ := strings.Cut(string(v), "\n"); err != nil || first != "rotor test" {
			t.Fatalf("rotor version: %q %v", v, err)
		}
	}
}
