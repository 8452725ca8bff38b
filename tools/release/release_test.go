package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// platforms is what make release builds (the Makefile's PLATFORMS).
var platforms = []string{"linux/amd64", "linux/arm64", "linux/arm", "darwin/amd64", "darwin/arm64", "windows/amd64"}

// TestRelease runs make release and checks what a user downloads: an
// archive per platform holding a binary for that platform, SHA256SUMS
// that verifies them, and a CycloneDX SBOM with components. It builds six
// binaries and runs the SBOM generator, so it runs from make
// release-check (ROTOR_RELEASE_CHECK=1), not from every go test.
func TestRelease(t *testing.T) {
	if os.Getenv("ROTOR_RELEASE_CHECK") == "" {
		t.Skip("slow: run with make release-check (ROTOR_RELEASE_CHECK=1)")
	}
	dist := filepath.Join(t.TempDir(), "dist")
	const version = "9.8.7-check"
	start := time.Now()
	cmd := exec.Command("make", "-C", "../..", "release", "DIST="+dist, "VERSION="+version)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	t.Logf("make release took %v", time.Since(start).Round(time.Second))

	sums := readSums(t, filepath.Join(dist, "SHA256SUMS"))
	for _, p := range platforms {
		goos, goarch, _ := strings.Cut(p, "/")
		name := archiveName(version, goos, goarch)
		if _, ok := sums[name]; !ok {
			t.Errorf("SHA256SUMS does not list %s", name)
		}
		bin := extract(t, filepath.Join(dist, name), "rotor"+exeSuffix(goos))
		checkFormat(t, p, bin)
		if p == runtime.GOOS+"/"+runtime.GOARCH {
			checkVersion(t, bin, version)
		}
	}
	sbom := "rotor_" + version + "_sbom.cdx.json"
	if _, ok := sums[sbom]; !ok {
		t.Errorf("SHA256SUMS does not list the SBOM")
	}
	checkSBOM(t, filepath.Join(dist, sbom), version)
	for name, want := range sums {
		got, err := fileSHA256(filepath.Join(dist, name))
		if err != nil || got != want {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s (%v)", name, got, want, err)
		}
	}
	// The command docs/platforms.md gives users.
	if _, err := exec.LookPath("sha256sum"); err == nil {
		c := exec.Command("sha256sum", "-c", "SHA256SUMS", "--ignore-missing")
		c.Dir = dist
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}

func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS line %q is not sha256sum's format", sc.Text())
		}
		sums[name] = sum
	}
	if len(sums) != len(platforms)+1 {
		t.Fatalf("SHA256SUMS lists %d files, want %d archives and the SBOM", len(sums), len(platforms))
	}
	return sums
}

// extract returns the content of member in the .tar.gz or .zip archive,
// failing if the archive lacks it, README.md or LICENSE.
func extract(t *testing.T, archive, member string) []byte {
	t.Helper()
	files := map[string][]byte{}
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name], _ = io.ReadAll(rc)
			rc.Close()
		}
	} else {
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if member == h.Name && h.Mode&0o111 == 0 {
				t.Errorf("%s: %s is not executable (mode %o)", archive, member, h.Mode)
			}
			files[h.Name], _ = io.ReadAll(tr)
		}
	}
	for _, doc := range []string{"README.md", "LICENSE"} {
		if _, ok := files[doc]; !ok {
			t.Errorf("%s has no %s", filepath.Base(archive), doc)
		}
	}
	b, ok := files[member]
	if !ok {
		t.Fatalf("%s has no %s", filepath.Base(archive), member)
	}
	return b
}

// checkFormat checks bin is an executable for platform p, statically
// linked where that applies.
func checkFormat(t *testing.T, p string, bin []byte) {
	t.Helper()
	r := bytes.NewReader(bin)
	switch p {
	case "linux/amd64", "linux/arm64", "linux/arm":
		f, err := elf.NewFile(r)
		if err != nil {
			t.Fatalf("%s: not ELF: %v", p, err)
		}
		want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64, "linux/arm": elf.EM_ARM}[p]
		if f.Machine != want {
			t.Errorf("%s: ELF machine %v", p, f.Machine)
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked", p)
			}
		}
	case "darwin/amd64", "darwin/arm64":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("%s: not Mach-O: %v", p, err)
		}
		want := map[string]macho.Cpu{"darwin/amd64": macho.CpuAmd64, "darwin/arm64": macho.CpuArm64}[p]
		if f.Cpu != want {
			t.Errorf("%s: Mach-O CPU %v", p, f.Cpu)
		}
	case "windows/amd64":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("%s: not PE: %v", p, err)
		}
		if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 {
			t.Errorf("%s: PE machine %#x", p, f.Machine)
		}
	default:
		t.Fatalf("no format check for %s", p)
	}
}

// checkVersion runs the binary built for this machine: rotor version
// names the release and the commit it came from.
func checkVersion(t *testing.T, bin []byte, version string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rotor")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "version").Output()
	if err != nil {
		t.Fatalf("rotor version: %v", err)
	}
	lines := strings.Split(string(out), "\n")
	if lines[0] != "rotor "+version {
		t.Errorf("first line %q, want %q", lines[0], "rotor "+version)
	}
	if head, err := exec.Command("git", "-C", "../..", "rev-parse", "HEAD").Output(); err == nil &&
		!strings.Contains(string(out), "commit: "+strings.TrimSpace(string(head))) {
		t.Errorf("rotor version does not name the commit %s:\n%s", head, out)
	}
	if !strings.Contains(string(out), "go:     go1.") {
		t.Errorf("rotor version does not name the Go release:\n%s", out)
	}
}

func checkSBOM(t *testing.T, path, version string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct{ Name, Version string } `json:"component"`
		} `json:"metadata"`
		Components []struct{ Name, Version, Purl string } `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("SBOM is not JSON: %v", err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.Metadata.Component.Name != "github.com/rotorproject/rotor" || doc.Metadata.Component.Version != version {
		t.Errorf("SBOM metadata: %+v %+v", doc.BOMFormat, doc.Metadata.Component)
	}
	found := false
	for _, c := range doc.Components {
		found = found || (c.Name == "github.com/hashicorp/vault/api" && c.Version != "" && strings.HasPrefix(c.Purl, "pkg:golang/"))
	}
	if len(doc.Components) < 10 || !found {
		t.Errorf("SBOM lists %d components, without the Vault API client", len(doc.Components))
	}
}
