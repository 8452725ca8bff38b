package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The same content gives the same archive bytes, whenever and wherever it
// is packed: users can rebuild a release and compare checksums.
func TestArchivesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "rotor")
	os.WriteFile(bin, []byte("\x7fELF..."), 0o700)
	mtime := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, ext := range []string{".tar.gz", ".zip"} {
		var got [][]byte
		for i := range 2 {
			dst := filepath.Join(dir, "a"+string(rune('0'+i))+ext)
			if err := writeArchive(dst, []archiveFile{{name: "rotor", path: bin, mode: 0o755}}, mtime); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(bin, time.Now(), time.Now()) // the file's own time must not leak in
			b, _ := os.ReadFile(dst)
			got = append(got, b)
		}
		if !bytes.Equal(got[0], got[1]) {
			t.Errorf("%s: two packs of the same file differ", ext)
		}
	}
}

func TestChecksumsFormat(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.zip"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.tar.gz"), []byte("a"), 0o644)
	if err := writeChecksums(dir, []string{"b.zip", "a.tar.gz"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	want := "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a.tar.gz\n" +
		"3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  b.zip\n"
	if string(b) != want {
		t.Fatalf("SHA256SUMS:\n%s\nwant (sha256sum's format, sorted):\n%s", b, want)
	}
}

func TestArchiveNames(t *testing.T) {
	if got := archiveName("1.2.0", "windows", "amd64"); got != "rotor_1.2.0_windows_amd64.zip" {
		t.Errorf("windows: %s", got)
	}
	if got := archiveName("1.2.0", "linux", "arm"); got != "rotor_1.2.0_linux_arm.tar.gz" {
		t.Errorf("linux/arm: %s", got)
	}
}

func TestSBOMVersionChecksTheDocument(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sbom.json")
	for doc, want := range map[string]string{
		`not json`:             "not JSON",
		`{"bomFormat":"SPDX"}`: "not a CycloneDX",
		`{"bomFormat":"CycloneDX","components":[]}`:                                                       "no components",
		`{"bomFormat":"CycloneDX","components":[{"name":"x"}]}`:                                           "no metadata.component",
		`{"bomFormat":"CycloneDX","components":[{"name":"x"}],"metadata":{"component":{"name":"rotor"}}}`: "",
	} {
		os.WriteFile(p, []byte(doc), 0o644)
		err := setSBOMVersion(p, "1.2.0")
		if want == "" {
			b, _ := os.ReadFile(p)
			if err != nil || !strings.Contains(string(b), `"version": "1.2.0"`) {
				t.Errorf("%s: %v\n%s", doc, err, b)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", doc, err, want)
		}
	}
}
