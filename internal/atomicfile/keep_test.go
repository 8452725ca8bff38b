//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// KeepMode and KeepOwner carry an existing file's mode and owner over to
// the new one, in a single write and in a group write alike; a symlink at
// the path is not followed for them.
func TestKeepModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another uid")
	}
	dir := t.TempDir()
	a, b, target, link := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "target"), filepath.Join(dir, "link")
	for _, p := range []string{a, b, target} {
		os.WriteFile(p, []byte("old"), 0o600)
		os.Chown(p, 65534, 65533)
		os.Chmod(p, os.ModeSetuid|0o640) // after chown, which clears setuid; it is never kept
	}
	os.Symlink(target, link)
	o := Options{Mode: 0o644, UID: -1, GID: -1, KeepMode: true, KeepOwner: true}
	if _, err := Write(a, []byte("new"), o); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteGroup([]Item{{Path: b, Data: []byte("new"), Options: o}, {Path: link, Data: []byte("new"), Options: o}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path      string
		mode      os.FileMode
		uid, gid  uint32
		wantBytes string
	}{{a, 0o640, 65534, 65533, "new"}, {b, 0o640, 65534, 65533, "new"}, {link, 0o644, 0, 0, "new"}, {target, os.ModeSetuid | 0o640, 65534, 65533, "old"}} {
		fi, err := os.Lstat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		got, _ := os.ReadFile(c.path)
		if fi.Mode()&(os.ModePerm|os.ModeSetuid) != c.mode || st.Uid != c.uid || st.Gid != c.gid || string(got) != c.wantBytes {
			t.Errorf("%s: mode %v owner %d:%d %q, want %v %d:%d %q", filepath.Base(c.path), fi.Mode(), st.Uid, st.Gid, got, c.mode, c.uid, c.gid, c.wantBytes)
		}
	}
	// A user set wins over the kept one; the group is still kept.
	o.UID = 65532
	if _, err := Write(a, []byte("newer"), o); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(a)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 || st.Gid != 65533 {
		t.Fatalf("user set: owner %d:%d, want 65532:65533", st.Uid, st.Gid)
	}
}

// A temporary file KeepOwner gave the destination's owner, left by a
// crash, is still cleaned up.
func TestCleanupRemovesLeftoversOwnedByTheDestinationsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another uid")
	}
	dir := t.TempDir()
	dest, tmp := filepath.Join(dir, "a"), filepath.Join(dir, ".a.tmp-123")
	os.WriteFile(dest, []byte("old"), 0o600)
	os.WriteFile(tmp, []byte("secret"), 0o600)
	os.Chown(dest, 65534, 65534)
	os.Chown(tmp, 65534, 65534)
	removed, err := Cleanup([]Target{{Path: dest, UID: -1}})
	if err != nil || len(removed) != 1 {
		t.Fatalf("removed %q, %v", removed, err)
	}
}
