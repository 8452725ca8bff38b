//go:build unix

package template

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/command"
)

// A template without perms whose destination already exists keeps that
// file's mode and owner, as Vault Agent (consul-template's renderer) does:
// an application's 0600 file stays 0600 and the application's. A mode
// changed by someone else is no reason to write the same bytes again, nor
// to run the reload command.
func TestUnsetPermsKeepTheDestinationsModeAndOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the destination to another uid")
	}
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	dest, runs := filepath.Join(dir, "app.conf"), filepath.Join(dir, "runs")
	if err := os.WriteFile(dest, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dest, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Contents: "new", Destination: dest, Perms: atomicfile.Masked(0o644), PermsUnset: true,
		Command: command.Command{Shell: "echo run >> " + runs}}

	renderOnce(t, srv.URL, 0.9, spec)
	b, _ := os.ReadFile(dest)
	st := stat(t, dest)
	if string(b) != "new" || uint32(st.Mode)&0o7777 != 0o600 || st.Uid != 65534 || st.Gid != 65534 {
		t.Fatalf("after a render: %q mode %04o owner %d:%d, want \"new\" 0600 65534:65534", b, uint32(st.Mode)&0o7777, st.Uid, st.Gid)
	}
	if r, _ := os.ReadFile(runs); string(r) != "run\n" {
		t.Fatalf("reload command runs after the first render: %q", r)
	}

	// Same bytes, another mode: nothing to write, nothing to reload.
	if err := os.Chmod(dest, 0o640); err != nil {
		t.Fatal(err)
	}
	before := stat(t, dest)
	renderOnce(t, srv.URL, 0.9, spec)
	after := stat(t, dest)
	if after.Ino != before.Ino || after.Mode&0o7777 != 0o640 || after.Uid != 65534 {
		t.Fatalf("a mode-only difference rewrote the file: inode %d -> %d, mode %04o, uid %d",
			before.Ino, after.Ino, after.Mode&0o7777, after.Uid)
	}
	if r, _ := os.ReadFile(runs); string(r) != "run\n" {
		t.Fatalf("a mode-only difference ran the reload command: %q", r)
	}

	// A set perms is still exact (and still keeps the owner, as Vault
	// Agent does when no user is set).
	spec.Perms, spec.PermsUnset, spec.Contents = 0o600, false, "newer"
	renderOnce(t, srv.URL, 0.9, spec)
	st = stat(t, dest)
	if uint32(st.Mode)&0o7777 != 0o600 || st.Uid != 65534 {
		t.Fatalf("with perms 0600: mode %04o uid %d", uint32(st.Mode)&0o7777, st.Uid)
	}
}

// A new destination of a template without perms gets the default mode,
// and rotor's owner.
func TestUnsetPermsNewFileGetsTheDefault(t *testing.T) {
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	dest := filepath.Join(t.TempDir(), "app.conf")
	renderOnce(t, srv.URL, 0.9, Spec{Contents: "new", Destination: dest, Perms: atomicfile.Masked(0o644), PermsUnset: true})
	st := stat(t, dest)
	if uint32(st.Mode)&0o7777 != uint32(atomicfile.Masked(0o644)) || int(st.Uid) != os.Geteuid() {
		t.Fatalf("new file: mode %04o uid %d", uint32(st.Mode)&0o7777, st.Uid)
	}
}

func stat(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}
