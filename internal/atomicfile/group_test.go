package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteGroupWritesChangedFilesOnly(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	o := Options{Mode: 0o600, UID: -1, GID: -1}
	changed, err := WriteGroup([]Item{{cert, []byte("c1"), o}, {key, []byte("k1"), o}})
	if err != nil || !changed[0] || !changed[1] {
		t.Fatalf("first write: %v %v", changed, err)
	}
	changed, err = WriteGroup([]Item{{cert, []byte("c1"), o}, {key, []byte("k2"), o}})
	if err != nil || changed[0] || !changed[1] {
		t.Fatalf("second write: %v %v", changed, err)
	}
	if b, _ := os.ReadFile(key); string(b) != "k2" {
		t.Fatalf("key holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("left behind: %v", entries)
	}
}

// A crash between the renames of a group is finished at the next start:
// the files the journal names are all renamed, none half.
func TestRecoverFinishesAnInterruptedGroup(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, []byte("old cert"), 0o600)
	os.WriteFile(key, []byte("old key"), 0o600)
	o := Options{Mode: 0o600, UID: -1, GID: -1}
	tc, err := prepare(cert, []byte("new cert"), o)
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := prepare(key, []byte("new key"), o)
	if _, err := writeJournal(dir, journal{Renames: []rename{{tc, cert}, {tk, key}}}); err != nil {
		t.Fatal(err)
	}
	os.Rename(tc, cert) // the crash comes after the first rename
	renamed, err := Recover(dir)
	if err != nil || len(renamed) != 1 || renamed[0] != key {
		t.Fatalf("recover: %v %v", renamed, err)
	}
	for p, want := range map[string]string{cert: "new cert", key: "new key"} {
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Fatalf("%s holds %q, want %q", p, b, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("left behind %s", e.Name())
		}
	}
}

// A journal cannot make Recover rename anything but a destination's own
// temporary file over that destination.
func TestRecoverRefusesForeignEntries(t *testing.T) {
	dir := t.TempDir()
	victim, planted := filepath.Join(dir, "passwd"), filepath.Join(dir, "evil")
	os.WriteFile(victim, []byte("keep"), 0o600)
	os.WriteFile(planted, []byte("pwned"), 0o600)
	writeJournal(dir, journal{Renames: []rename{{planted, victim}}})
	if _, err := Recover(dir); err == nil {
		t.Fatal("a foreign entry was not reported")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("Recover renamed a planted file: %q", b)
	}
}
