package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// archiveFile is one entry of an archive: its name inside, where it is
// read from, and its mode.
type archiveFile struct {
	name string
	path string
	mode os.FileMode
}

// writeArchive packs files into dst, a .zip or a .tar.gz by its name.
// Every entry gets mtime and the owner root, nothing from the build
// machine, so the bytes depend on the content alone.
func writeArchive(dst string, files []archiveFile, mtime time.Time) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if strings.HasSuffix(dst, ".zip") {
		return writeZip(f, files, mtime)
	}
	return writeTarGz(f, files, mtime)
}

func writeTarGz(w io.Writer, files []archiveFile, mtime time.Time) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	gz.ModTime = mtime
	tw := tar.NewWriter(gz)
	for _, af := range files {
		b, err := os.ReadFile(af.path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: af.name, Mode: int64(af.mode), Size: int64(len(b)), ModTime: mtime,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, files []archiveFile, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, af := range files {
		b, err := os.ReadFile(af.path)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: af.name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(af.mode)
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := fw.Write(b); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeChecksums writes dir/SHA256SUMS in sha256sum's format ("<hex>
// <name>", two spaces), sorted by name, for the files named.
func writeChecksums(dir string, names []string) error {
	names = append([]string(nil), names...)
	sort.Strings(names)
	var buf bytes.Buffer
	for _, n := range names {
		sum, err := fileSHA256(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&buf, "%s  %s\n", sum, n)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), buf.Bytes(), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeSBOM writes a CycloneDX JSON SBOM of rotor's module graph to dst,
// with the release's version as the main component's (cyclonedx-gomod
// reads it from git tags, which a worktree or a source archive lacks).
// Serial number and timestamp are left out so the SBOM is reproducible
// like the archives.
func writeSBOM(ctx context.Context, root, dst, version string) error {
	cmd := exec.CommandContext(ctx, "go", "run", sbomTool, "mod", "-json", "-noserial", "-notimestamp", "-output", dst, ".")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", sbomTool, err, stderr.String())
	}
	return setSBOMVersion(dst, version)
}

// setSBOMVersion sets metadata.component.version in the SBOM at path,
// checking on the way that it is a CycloneDX document with components.
func setSBOMVersion(path, version string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s is not JSON: %w", path, err)
	}
	if doc["bomFormat"] != "CycloneDX" {
		return fmt.Errorf("%s is not a CycloneDX document", path)
	}
	if c, _ := doc["components"].([]any); len(c) == 0 {
		return fmt.Errorf("%s lists no components", path)
	}
	md, _ := doc["metadata"].(map[string]any)
	comp, _ := md["component"].(map[string]any)
	if comp == nil {
		return fmt.Errorf("%s has no metadata.component", path)
	}
	comp["version"] = version
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}
