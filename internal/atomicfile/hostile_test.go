//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests of what an attacker on the same host can place at a destination
// when its directory is writable by the application's user.

// secretFile stands in for /etc/shadow: a file only rotor may read.
func secretFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(p, []byte("root:$6$hash-of-root\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// With backup = true and a symlink planted at the destination, the old
// code copied the link's target into <dest>.bak with the template's mode
// and owner: a readable copy of /etc/shadow.
func TestBackupNeverFollowsSymlink(t *testing.T) {
	shadow := secretFile(t)
	dest := filepath.Join(t.TempDir(), "app.conf")
	if err := os.Symlink(shadow, dest); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dest, []byte("new"), Options{Mode: 0o644, UID: -1, GID: -1, Backup: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dest + ".bak"); err == nil && strings.Contains(string(b), "root:") {
		t.Fatalf("the symlink's target was copied into the backup")
	}
	assertReplaced(t, dest, shadow, "root:$6$hash-of-root\n")
}

// A symlink at the destination is replaced, never written through, even
// when its target already holds the new bytes with the wanted mode (the
// old code then left the attacker's link in place).
func TestWriteReplacesSymlink(t *testing.T) {
	for _, same := range []bool{false, true} {
		target := filepath.Join(t.TempDir(), "target")
		content := "attacker's"
		if same {
			content = "new"
		}
		if err := os.WriteFile(target, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		dest := filepath.Join(t.TempDir(), "token")
		if err := os.Symlink(target, dest); err != nil {
			t.Fatal(err)
		}
		changed, err := Write(dest, []byte("new"), Options{Mode: 0o600, UID: -1, GID: -1})
		if err != nil || !changed {
			t.Fatalf("same=%v: changed=%v err=%v", same, changed, err)
		}
		assertReplaced(t, dest, target, content)
	}
}

// assertReplaced checks dest is now a regular file holding "new" and the
// symlink's old target still holds want.
func assertReplaced(t *testing.T, dest, target, want string) {
	t.Helper()
	st, err := os.Lstat(dest)
	if err != nil || !st.Mode().IsRegular() {
		t.Fatalf("destination is not a regular file after the write: %v %v", st.Mode(), err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "new" {
		t.Fatalf("destination holds %q", b)
	}
	if b, _ := os.ReadFile(target); string(b) != want {
		t.Fatalf("written through the symlink: its target holds %q", b)
	}
}

// The backup is the old inode itself (a hard link), so its mode and owner
// are the old file's and no content is copied.
func TestBackupIsTheOldInode(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "cert.pem")
	o := Options{Mode: 0o640, UID: -1, GID: -1, Backup: true}
	if _, err := Write(dest, []byte("one"), o); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(dest)
	if _, err := Write(dest, []byte("two"), o); err != nil {
		t.Fatal(err)
	}
	bak, err := os.Stat(dest + ".bak")
	if err != nil || !os.SameFile(before, bak) {
		t.Fatalf("the backup is not the previous file: %v", err)
	}
	if b, _ := os.ReadFile(dest + ".bak"); string(b) != "one" {
		t.Fatalf("backup holds %q", b)
	}
	if _, err := Write(dest, []byte("three"), o); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest + ".bak"); string(b) != "two" {
		t.Fatalf("second backup holds %q", b)
	}
	assertOnly(t, filepath.Dir(dest), "cert.pem", "cert.pem.bak")
}

// A named pipe or a directory at a destination is refused at once with an
// error naming the path and what is there. The old code blocked forever
// reading the FIFO.
func TestWriteRefusesSpecialFiles(t *testing.T) {
	for _, tc := range []struct {
		what string
		make func(string) error
	}{
		{"a named pipe (FIFO)", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }},
	} {
		for _, backup := range []bool{false, true} {
			dir := t.TempDir()
			dest := filepath.Join(dir, "db.env")
			if err := tc.make(dest); err != nil {
				t.Fatal(err)
			}
			err := within(t, 5*time.Second, dest, func() error {
				_, err := Write(dest, []byte("x"), Options{Mode: 0o600, UID: -1, GID: -1, Backup: backup})
				return err
			})
			want := "refusing to replace " + tc.what
			if err == nil || !strings.Contains(err.Error(), dest) || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s, backup=%v: got %v, want an error naming the path and %q", tc.what, backup, err, want)
			}
			assertOnly(t, dir, "db.env")
		}
	}
}

// within runs f and fails the test if it does not return within d. A call
// stuck opening the FIFO at fifo is released by opening its other end.
func within(t *testing.T, d time.Duration, fifo string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatalf("still blocked after %v", d)
		return nil
	}
}

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	err := within(t, 5*time.Second, fifo, func() error { _, err := ReadRegular(fifo, 100); return err })
	if err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("FIFO: %v", err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("s", 101)), 0o600)
	if _, err := ReadRegular(big, 100); err == nil || strings.Contains(err.Error(), "sss") {
		t.Fatalf("too large: %v", err)
	}
	if b, err := ReadRegular(big, 101); err != nil || len(b) != 101 {
		t.Fatalf("at the limit: %d %v", len(b), err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(big, link)
	if b, err := ReadRegular(link, 200); err != nil || len(b) != 101 {
		t.Fatalf("symlinks are followed for reads: %d %v", len(b), err)
	}
	if _, err := ReadRegular("/dev/zero", 100); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Fatalf("device: %v", err)
	}
}

// assertOnly checks dir holds exactly names.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}
