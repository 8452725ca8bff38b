//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// A SIGKILL between creating a temporary file and renaming it leaves the
// secret in .<name>.tmp-<digits>. Cleanup removes those of rotor's own
// targets and nothing else.
func TestCleanupRemovesOnlyRotorsLeftovers(t *testing.T) {
	dir := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{
		write(".db.env.tmp-123"),
		write(".db.env.tmp-4294967295"),
		write(".db.env.bak.tmp-7"),
		write(".cert.pem.tmp-1"),
	}
	kept := []string{
		write("db.env"),
		write(".other.tmp-1"),            // not a target
		write(".db.env.tmp-"),            // no digits
		write(".db.env.tmp-12x"),         // not only digits
		write(".db.env.tmp-12345678901"), // more than a uint32
		write("db.env.tmp-1"),            // no leading dot
		write(".db.env.tmp-1.swp"),       // another program's
	}
	if err := os.Mkdir(filepath.Join(dir, ".db.env.tmp-5"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kept[0], filepath.Join(dir, ".db.env.tmp-6")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, ".db.env.tmp-8"), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := Cleanup([]Target{
		{Path: filepath.Join(dir, "db.env"), UID: -1},
		{Path: filepath.Join(dir, "cert.pem"), UID: -1},
		{Path: filepath.Join(t.TempDir(), "missing", "x"), UID: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	slices.Sort(gone)
	if !slices.Equal(removed, gone) {
		t.Fatalf("removed %v, want %v", removed, gone)
	}
	for _, p := range gone {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range append(kept, filepath.Join(dir, ".db.env.tmp-5"), filepath.Join(dir, ".db.env.tmp-6"), filepath.Join(dir, ".db.env.tmp-8")) {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed", p)
		}
	}
}

// A leftover owned by someone else than rotor or the target's owner is
// not rotor's: it stays.
func TestCleanupChecksTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, ".token.tmp-42")
	if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "token")
	if removed, _ := Cleanup([]Target{{Path: target, UID: -1}}); len(removed) != 0 {
		t.Fatalf("removed another user's file: %v", removed)
	}
	// The same file given to uid 4242 by rotor (a template's user) is rotor's.
	if removed, _ := Cleanup([]Target{{Path: target, UID: 4242}}); len(removed) != 1 {
		t.Fatalf("the target owner's leftover stayed")
	}
}

func TestMasked(t *testing.T) {
	old := syscall.Umask(0o022)
	syscall.Umask(old)
	if got := Umask(); got != os.FileMode(old) {
		t.Fatalf("Umask() = %o, the process has %o", got, old)
	}
	if got := Masked(0o644); got != 0o644&^os.FileMode(old) {
		t.Fatalf("Masked(0644) = %o with umask %o", got, old)
	}
	if m, ok := procUmask(); ok && m != os.FileMode(old) {
		t.Fatalf("/proc/self/status says %o, the process has %o", m, old)
	}
}
