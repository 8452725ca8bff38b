package watch

import (
	"context"
	"os"
	"path/filepath"
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

func TestWatcherReportsReplaceEditDeleteOnce(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("1"), 0o600)
	os.WriteFile(b, []byte("1"), 0o600)
	var na, nb atomic.Int32
	w := New(nil)
	w.Set("t", map[string]func(){a: func() { na.Add(1) }, b: func() { nb.Add(1) }})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(50 * time.Millisecond) // let Run add its watches

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
	time.Sleep(3 * Debounce)
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
