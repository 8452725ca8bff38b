// Command release builds rotor's release artifacts (make release):
//
//	go run ./tools/release -version 1.4.0 -out dist linux/amd64 windows/amd64 ...
//
// For each platform it builds a static binary (CGO_ENABLED=0, -trimpath,
// the version and the commit stamped in) and packs it with README.md and
// LICENSE, when present, into rotor_<version>_<os>_<arch>.tar.gz (.zip for
// Windows). It then writes a CycloneDX SBOM of the module graph,
// rotor_<version>_sbom.cdx.json (cyclonedx-gomod, run with go run so
// nothing is vendored), and SHA256SUMS over all of them.
//
// Archives are reproducible: every entry carries the commit's time, owner
// root and fixed modes, so the same commit gives the same checksums.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// sbomTool is the SBOM generator, pinned: go run fetches exactly this
// version through the module proxy.
const sbomTool = "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0"

func main() {
	version := flag.String("version", "dev", "the version to stamp and to name archives with")
	out := flag.String("out", "dist", "output directory (created; must not hold earlier artifacts)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./tools/release -version V -out DIR os/arch...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *version, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, version, out string, platforms []string) error {
	if strings.ContainsAny(version, `/\ `) || version == "" {
		return fmt.Errorf("version %q: no slashes or spaces", version)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	src := readSource(ctx, root)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		return fmt.Errorf("%s is not empty: remove it first (make release does)", out)
	}
	build, err := os.MkdirTemp("", "rotor-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(build)

	var artifacts []string
	for _, p := range platforms {
		goos, goarch, ok := strings.Cut(p, "/")
		if !ok {
			return fmt.Errorf("platform %q: want os/arch", p)
		}
		bin := filepath.Join(build, goos+"_"+goarch, "rotor"+exeSuffix(goos))
		start := time.Now()
		if err := buildBinary(ctx, root, bin, goos, goarch, version, src); err != nil {
			return fmt.Errorf("build %s: %w", p, err)
		}
		name := archiveName(version, goos, goarch)
		files := []archiveFile{{name: filepath.Base(bin), path: bin, mode: 0o755}}
		for _, doc := range []string{"README.md", "LICENSE"} {
			if _, err := os.Stat(filepath.Join(root, doc)); err == nil {
				files = append(files, archiveFile{name: doc, path: filepath.Join(root, doc), mode: 0o644})
			}
		}
		if err := writeArchive(filepath.Join(out, name), files, src.time); err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		fmt.Printf("%-16s %s (%v)\n", p, name, time.Since(start).Round(time.Millisecond))
		artifacts = append(artifacts, name)
	}
	sbom := "rotor_" + version + "_sbom.cdx.json"
	if err := writeSBOM(ctx, root, filepath.Join(out, sbom), version); err != nil {
		return fmt.Errorf("SBOM: %w", err)
	}
	fmt.Println("sbom            ", sbom)
	artifacts = append(artifacts, sbom)
	if err := writeChecksums(out, artifacts); err != nil {
		return err
	}
	fmt.Println("checksums        SHA256SUMS")
	return nil
}

// buildBinary builds ./cmd/rotor for goos/goarch into bin.
func buildBinary(ctx context.Context, root, bin, goos, goarch, version string, src source) error {
	ldflags := "-s -w -X main.version=" + version
	if src.commit != "" {
		ldflags += " -X main.commit=" + src.commit + " -X main.commitDate=" + src.time.UTC().Format(time.RFC3339)
		if src.modified {
			ldflags += " -X main.commitModified=true"
		}
	}
	// -buildvcs=auto overrides a GOFLAGS=-buildvcs=false: in a plain
	// clone the toolchain stamps vcs.* itself; the -X values cover git
	// worktrees and unpacked source archives, where it cannot.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=auto", "-ldflags", ldflags, "-o", bin, "./cmd/rotor")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// exeSuffix is the executable file suffix on goos.
func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// archiveName is rotor_<version>_<os>_<arch>.tar.gz, or .zip for Windows
// (whose users open zip files without extra tools).
func archiveName(version, goos, goarch string) string {
	ext := ".tar.gz"
	if goos == "windows" {
		ext = ".zip"
	}
	return "rotor_" + version + "_" + goos + "_" + goarch + ext
}

// moduleRoot is the directory of rotor's go.mod.
func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run inside rotor's module")
	}
	return filepath.Dir(mod), nil
}

// source is the commit a release is built from.
type source struct {
	commit   string    // "" outside git
	time     time.Time // the commit's time; archive entries carry it
	modified bool      // tracked files differ from the commit
}

// readSource asks git about the checkout at root. Outside git (a source
// archive) the commit is unknown and the time is SOURCE_DATE_EPOCH, or now.
func readSource(ctx context.Context, root string) source {
	src := source{time: time.Now().UTC().Truncate(time.Second)}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		var secs int64
		if _, err := fmt.Sscan(e, &secs); err == nil {
			src.time = time.Unix(secs, 0).UTC()
		}
	}
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		b, err := cmd.Output()
		return strings.TrimSpace(string(b)), err
	}
	out, err := git("log", "-1", "--format=%H %ct")
	if err != nil {
		return src
	}
	var secs int64
	if _, err := fmt.Sscan(out, &src.commit, &secs); err != nil {
		return source{time: src.time}
	}
	src.time = time.Unix(secs, 0).UTC()
	if st, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
		src.modified = true
	}
	return src
}
