package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// opens counts the times a file is opened, by anyone, from now on: an
// inotify watch for IN_OPEN on its directory, so that the file rotor
// writes in its place counts too.
type opens struct {
	fd   int
	name string
}

func watchOpens(t *testing.T, path string) *opens {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	// IN_CLOSE too: inotify merges an event with the one before it when
	// they are the same, and two opens in a row would count as one.
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_OPEN|unix.IN_CLOSE); err != nil {
		t.Fatal(err)
	}
	return &opens{fd: fd, name: filepath.Base(path)}
}

// count returns the opens seen so far.
func (o *opens) count(t *testing.T) int {
	t.Helper()
	n := 0
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		k, err := unix.Read(o.fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= k; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := unix.ByteSliceToString(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)])
			if ev.Mask&unix.IN_OPEN != 0 && name == o.name {
				n++
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// driftSpec is a template rendering kv/pw to out, owned by root.
func driftSpec(out string) Spec {
	return Spec{Contents: `{{ with secret "kv/pw" }}{{ .Data.v }}{{ end }}`, Destination: out, Perms: 0o600,
		Owner: atomicfile.Owner{User: "0", Group: "0"}}
}

// ownedBy reports whether path is a file with this mode, uid and gid.
func ownedBy(path string, mode os.FileMode, uid, gid uint32) func() error {
	return func() error {
		st, err := os.Lstat(path)
		if err != nil {
			return err
		}
		s := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != mode || s.Uid != uid || s.Gid != gid {
			return fmt.Errorf("mode %v owner %d:%d", st.Mode().Perm(), s.Uid, s.Gid)
		}
		return nil
	}
}

// A destination chowned to someone else, its content and mode untouched,
// is drift: rotor gives it back to its configured owner, and reads it once
// to find out.
func TestOwnerOnlyDriftIsRepaired(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	r, _ := liveRunner(t, []Spec{driftSpec(out)}, Options{})
	eventually(t, "first render", holds(out, leakSecrets["pw"]))
	eventually(t, "the destination watched", watching(r, out))

	o := watchOpens(t, out)
	if err := os.Chown(out, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	eventually(t, "owner restored", ownedBy(out, 0o600, 0, 0))
	if n := o.count(t); n != 1 {
		t.Errorf("the drifted destination was opened %d times, want once", n)
	}
	eventually(t, "content kept", holds(out, leakSecrets["pw"]))
}

// A drift repair reads the destination once: the comparison that finds
// the drift is the one the write skips unchanged files with, and no read
// follows the write.
func TestDriftRepairReadsOnce(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	spec := driftSpec(out)
	spec.Owner = atomicfile.Owner{}
	r, _ := liveRunner(t, []Spec{spec}, Options{})
	want := leakSecrets["pw"]
	eventually(t, "first render", holds(out, want))
	eventually(t, "the destination watched", watching(r, out))
	before, err := os.Lstat(out)
	if err != nil {
		t.Fatal(err)
	}

	o := watchOpens(t, out)
	// Same size, other bytes: only reading the file tells the drift. The
	// edit is one open; the test opens nothing else until it counts.
	if err := os.WriteFile(out, []byte(strings.Repeat("x", len(want))), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a file written in its place", func() error {
		st, err := os.Lstat(out)
		if err != nil || os.SameFile(st, before) {
			return errors.New("not yet")
		}
		return nil
	})
	if n := o.count(t) - 1; n != 1 {
		t.Errorf("the repair opened the destination %d times, want once", n)
	}
	eventually(t, "content restored", holds(out, want))
}
