package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteCreatesWithModeAndSkipsUnchanged(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b", "token")
	o := Options{Mode: 0o640, UID: -1, GID: -1, CreateDirs: true}
	changed, err := Write(p, []byte("one"), o)
	if err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", st.Mode())
	}
	changed, err = Write(p, []byte("one"), o)
	if err != nil || changed {
		t.Fatalf("same bytes must not be rewritten: changed=%v err=%v", changed, err)
	}
	o.Mode = 0o600
	if changed, _ = Write(p, []byte("one"), o); !changed {
		t.Fatal("a mode change must rewrite")
	}
	o.Backup = true
	if _, err := Write(p, []byte("two"), o); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p + ".bak"); string(b) != "one" {
		t.Fatalf("backup holds %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range entries {
		if e.Name() != "token" && e.Name() != "token.bak" {
			t.Fatalf("left behind %s", e.Name())
		}
	}
}

func TestWriteFailsCleanlyWithoutDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "missing", "token")
	if _, err := Write(p, []byte("x"), Options{Mode: 0o600, UID: -1, GID: -1}); err == nil {
		t.Fatal("expected an error when the directory is missing and CreateDirs is false")
	}
}

func TestOwnerResolve(t *testing.T) {
	u, g, err := Owner{User: "0", Group: "0"}.Resolve()
	if err != nil || u != 0 || g != 0 {
		t.Fatalf("got %d %d %v", u, g, err)
	}
	if _, _, err := (Owner{User: "no-such-user-rotor"}).Resolve(); err == nil {
		t.Fatal("expected unknown user error")
	}
	if u, g, _ := (Owner{User: "1"}).Resolve(); u != 1 || g != -1 {
		t.Fatalf("got %d %d", u, g)
	}
}

func TestDirSyncerConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var ds DirSyncer
	done := make(chan error)
	for i := range 50 {
		go func() {
			_, err := Write(filepath.Join(dir, fmt.Sprint(i)), []byte("x"), Options{Mode: 0o600, UID: -1, GID: -1, Dirs: &ds})
			done <- err
		}()
	}
	for range 50 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	d := ds.dirs[dir]
	if d.covered != 50 || d.requested != 50 {
		t.Fatalf("covered %d of %d renames", d.covered, d.requested)
	}
}
