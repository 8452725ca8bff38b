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

// readDockerfile returns the repository's Dockerfile.
func readDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerfileBuild builds rotor into out with exactly the go build line of
// the Dockerfile's build stage, for linux/goarch (buildx's TARGETOS and
// TARGETARCH).
func dockerfileBuild(t *testing.T, df, goarch, out string) {
	t.Helper()
	m := regexp.MustCompile(`RUN (CGO_ENABLED=0) (GOOS=\$\{TARGETOS\}) (GOARCH=\$\{TARGETARCH\}) go build (.*) -o /out/rotor (\./cmd/rotor)`).FindStringSubmatch(df)
	if m == nil {
		t.Fatal("no static, cross-compiling go build line (CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH}) in the Dockerfile")
	}
	flags := strings.ReplaceAll(m[4], "${VERSION}", "test")
	args := []string{"build"}
	for _, f := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(flags, -1) {
		args = append(args, strings.Trim(f, `"`))
	}
	args = append(args, "-o", out, m[5])
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), m[1], "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: go %v: %v\n%s", goarch, args, err, b)
	}
}

// There is no Docker engine in CI: this test checks the Dockerfile and
// builds the binary with exactly the flags its build stage uses, for
// each architecture of the multi-architecture image (buildx's TARGETOS
// and TARGETARCH), then checks that each result is static and that the
// one for this machine runs.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	df := readDockerfile(t)
	for _, want := range []string{"FROM --platform=$BUILDPLATFORM golang:", " AS build", "ARG TARGETOS", "ARG TARGETARCH",
		"distroless/static", "USER 65532", "HEALTHCHECK", `"health"`, "ENTRYPOINT",
		"docker buildx build --platform linux/amd64,linux/arm64"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The default image is the last stage: rotor alone, as before the
	// vault-k8s variant was added.
	stages := dockerfileStages(df)
	last := stages[len(stages)-1]
	if last.from != "gcr.io/distroless/static-debian12:nonroot" || last.name != "" {
		t.Errorf("the last stage (the default image) is %q AS %q, want distroless with no name", last.from, last.name)
	}
	for _, want := range []string{"COPY --from=build /out/rotor /usr/local/bin/rotor", "USER 65532:65532", `ENTRYPOINT ["/usr/local/bin/rotor"]`} {
		if !last.has(want) {
			t.Errorf("the default image lacks %q", want)
		}
	}
	// The vault-k8s variant (vaultk8s_image_test.go runs its layout).
	var k8s *dfStage
	for i := range stages {
		if stages[i].name == "vault-k8s" {
			k8s = &stages[i]
		}
	}
	if k8s == nil {
		t.Error("no vault-k8s stage (the image for the Vault Agent injector)")
	} else {
		for _, want := range []string{"COPY --from=build /out/rotor /bin/vault", "USER 100:1000", "ENV HOME=/home/vault"} {
			if !k8s.has(want) {
				t.Errorf("the vault-k8s stage lacks %q", want)
			}
		}
	}
	for _, arch := range []struct {
		goarch  string
		machine elf.Machine
	}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
		out := filepath.Join(t.TempDir(), "rotor")
		dockerfileBuild(t, df, arch.goarch, out)
		f, err := elf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != arch.machine {
			t.Errorf("%s: built for %v", arch.goarch, f.Machine)
		}
		if isDynamic(f) {
			t.Fatalf("%s: the binary is dynamically linked: the distroless/static base cannot run it", arch.goarch)
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

// isDynamic reports whether f asks for a dynamic loader.
func isDynamic(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}
