package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startProbed runs w until the test ends, with a probe file in dir added
// to its set. Each call of the function it returns changes the probe and
// waits for its callback: after the first, Run watches dir (a callback
// comes only from a check, and a check only once the directory is
// watched); after each, every check before it has run all its callbacks
// (checks and callbacks run one at a time on Run's goroutine).
func startProbed(t *testing.T, w *Watcher, dir string) func() {
	t.Helper()
	p := filepath.Join(dir, "probe")
	var n atomic.Int32
	w.Set("probe", map[string]func(){p: func() { n.Add(1) }})
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go w.Run(ctx)
	return func() {
		t.Helper()
		want := n.Load() + 1
		if err := os.WriteFile(p, []byte(strings.Repeat("x", int(want))), 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the probe's callback", func() bool { return n.Load() == want })
	}
}

func TestWatcherReportsReplaceEditDeleteOnce(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("1"), 0o600)
	os.WriteFile(b, []byte("1"), 0o600)
	var na, nb atomic.Int32
	w := New(nil)
	w.Set("t", map[string]func(){a: func() { na.Add(1) }, b: func() { nb.Add(1) }})
	probe := startProbed(t, w, dir)
	probe() // Run watches the directory now

	// Replaced by a rename, as atomic writers and Kubernetes do: one
	// callback for a burst of events.
	tmp := filepath.Join(dir, ".a.tmp")
	os.WriteFile(tmp, []byte("22"), 0o600)
	os.Rename(tmp, a)
	waitFor(t, "a's callback", func() bool { return na.Load() == 1 })
	// Edited in place, then deleted.
	os.WriteFile(b, []byte("333"), 0o600)
	waitFor(t, "b's callback", func() bool { return nb.Load() == 1 })
	os.Remove(b)
	waitFor(t, "b's deletion", func() bool { return nb.Load() == 2 })
	// A write the owner reports with Seen is not a change.
	os.WriteFile(a, []byte("4444"), 0o600)
	w.Seen(a)
	// Two changes to another file of the directory, each reported: the
	// check that saw a's write has run all its callbacks by the second.
	probe()
	probe()
	if na.Load() != 1 {
		t.Fatalf("a's own write was reported: %d callbacks", na.Load())
	}
}

// A directory created after Run started is picked up.
func TestWatcherDirectoryAppearsLater(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	f := filepath.Join(dir, "token")
	var n atomic.Int32
	w := New(nil)
	w.Set("t", map[string]func(){f: func() { n.Add(1) }})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	os.Mkdir(dir, 0o700)
	os.WriteFile(f, []byte("x"), 0o600)
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n.Load() == 0 {
		t.Fatal("a file in a directory created later was never reported")
	}
}

// A file given to another owner, its content and mode untouched, is a
// change (a destination chowned away is drift to repair).
func TestWatcherReportsOwnerChange(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("1"), 0o600)
	var n atomic.Int32
	w := New(nil)
	w.Set("t", map[string]func(){f: func() { n.Add(1) }})
	startProbed(t, w, dir)()
	if err := os.Chown(f, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the chown reported", func() bool { return n.Load() == 1 })
}
