package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// record is one fixed-size log line, so tests can predict where rotation
// falls.
func record(i int) string { return fmt.Sprintf("record %04d\n", i) } // 12 bytes

func mustOpen(t *testing.T, path string, maxBytes int64, keep int) *Writer {
	t.Helper()
	w, err := Open(path, maxBytes, keep)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func write(t *testing.T, w *Writer, s string) {
	t.Helper()
	if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// files lists the directory's names, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestCreatesPrivateFileAndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotor.log")
	w := mustOpen(t, path, 1<<20, 3)
	write(t, w, "one\n")
	write(t, w, "two\n")
	if got := read(t, path); got != "one\ntwo\n" {
		t.Errorf("content = %q", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}

	// Reopening appends, and what is there counts towards the limit.
	w.Close()
	w = mustOpen(t, path, 10, 1)
	write(t, w, "3\n") // 8+2 = 10: fits exactly
	write(t, w, "4\n") // would be 12: rotates first
	if got := read(t, path+".1"); got != "one\ntwo\n3\n" {
		t.Errorf("%s.1 = %q", path, got)
	}
	if got := read(t, path); got != "4\n" {
		t.Errorf("live file = %q", got)
	}
}

func TestRotatesWithoutSplittingWrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rotor.log")
	w := mustOpen(t, path, 50, 10) // four 12-byte records per file
	var all strings.Builder
	for i := range 10 {
		write(t, w, record(i))
		all.WriteString(record(i))
	}
	want := []string{"rotor.log", "rotor.log.1", "rotor.log.2"}
	if got := files(t, dir); !equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	// Oldest to newest: path.2, path.1, path.
	joined := read(t, path+".2") + read(t, path+".1") + read(t, path)
	if joined != all.String() {
		t.Errorf("records across files =\n%s\nwant\n%s", joined, all.String())
	}
	for _, name := range want {
		b := read(t, filepath.Join(dir, name))
		if len(b) > 50 || len(b)%12 != 0 {
			t.Errorf("%s holds %d bytes: over the limit or a split record", name, len(b))
		}
	}
}

func TestKeep(t *testing.T) {
	for _, keep := range []int{0, 1, 3} {
		t.Run(fmt.Sprint("keep=", keep), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rotor.log")
			w := mustOpen(t, path, 24, keep) // two records per file
			for i := range 20 {
				write(t, w, record(i))
			}
			want := []string{"rotor.log"}
			for i := 1; i <= keep; i++ {
				want = append(want, fmt.Sprintf("rotor.log.%d", i))
			}
			if got := files(t, dir); !equal(got, want) {
				t.Fatalf("files = %v, want %v", got, want)
			}
			// The newest records survive, in order.
			var got string
			for i := keep; i >= 1; i-- {
				got += read(t, fmt.Sprintf("%s.%d", path, i))
			}
			got += read(t, path)
			var exp string
			for i := 20 - 2*(keep+1); i < 20; i++ {
				exp += record(i)
			}
			if got != exp {
				t.Errorf("kept records =\n%s\nwant\n%s", got, exp)
			}
		})
	}
}

func TestRemovesBackupsBeyondKeep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rotor.log")
	// Left by an earlier run with keep = 5.
	for i := 1; i <= 5; i++ {
		if err := os.WriteFile(fmt.Sprintf("%s.%d", path, i), []byte("old\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w := mustOpen(t, path, 12, 2)
	write(t, w, record(0))
	write(t, w, record(1))
	want := []string{"rotor.log", "rotor.log.1", "rotor.log.2"}
	if got := files(t, dir); !equal(got, want) {
		t.Errorf("files = %v, want %v", got, want)
	}
}

func TestOversizedWriteStaysWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rotor.log")
	w := mustOpen(t, path, 10, 5)
	big := strings.Repeat("x", 25) + "\n"
	write(t, w, "a\n")
	write(t, w, big) // rotates "a\n" away, then lands alone
	write(t, w, "b\n")
	if got := read(t, path+".2"); got != "a\n" {
		t.Errorf(".2 = %q", got)
	}
	if got := read(t, path+".1"); got != big {
		t.Errorf(".1 = %q, want the big record whole", got)
	}
	if got := read(t, path); got != "b\n" {
		t.Errorf("live = %q", got)
	}
}

func TestNoRotationWhenMaxBytesIsZero(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, filepath.Join(dir, "rotor.log"), 0, 3)
	for i := range 100 {
		write(t, w, record(i))
	}
	if got := files(t, dir); !equal(got, []string{"rotor.log"}) {
		t.Errorf("files = %v", got)
	}
}

func TestRotationFailureKeepsTheRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rotor.log")
	// A non-empty directory where path.1 should go: the rename fails.
	if err := os.MkdirAll(filepath.Join(path+".1", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, path, 12, 1)
	write(t, w, record(0))
	n, err := w.Write([]byte(record(1)))
	if err == nil || n != 12 {
		t.Fatalf("Write during failed rotation = %d, %v; want 12 and the rotation error", n, err)
	}
	// Not retried on every write: the next maxBytes go to the same file.
	write(t, w, record(2))
	if got, want := read(t, path), record(0)+record(1)+record(2); got != want {
		t.Errorf("live file = %q, want %q", got, want)
	}
	// Once the obstacle is gone, the next rotation works.
	if err := os.RemoveAll(path + ".1"); err != nil {
		t.Fatal(err)
	}
	write(t, w, record(3))
	if got, want := read(t, path+".1"), record(0)+record(1)+record(2); got != want {
		t.Errorf(".1 = %q, want %q", got, want)
	}
	if got := read(t, path); got != record(3) {
		t.Errorf("live file = %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing", "rotor.log"), 100, 1); err == nil {
		t.Error("Open with a missing parent directory: no error")
	}
	if _, err := Open(filepath.Join(dir, "rotor.log"), 100, -1); err == nil {
		t.Error("Open with keep -1: no error")
	}
	if _, err := Open("", 100, 1); err == nil {
		t.Error("Open with an empty path: no error")
	}
}

func TestClose(t *testing.T) {
	w := mustOpen(t, filepath.Join(t.TempDir(), "rotor.log"), 100, 1)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if _, err := w.Write([]byte("late\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
}

// TestConcurrentWriters checks, under -race, that records written from
// many goroutines across many rotations are all there, whole, in each
// writer's order, and that no file passes the limit.
func TestConcurrentWriters(t *testing.T) {
	const writers, each, maxBytes = 8, 300, 1000
	dir := t.TempDir()
	path := filepath.Join(dir, "rotor.log")
	w := mustOpen(t, path, maxBytes, 1000) // keep everything

	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				rec := fmt.Sprintf("w%02d %05d %s\n", g, i, strings.Repeat("-", i%40))
				if _, err := w.Write([]byte(rec)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	w.Close()

	// Read oldest (highest number) to newest (the live file).
	names := files(t, dir)
	var all bytes.Buffer
	for i := len(names) - 1; i >= 1; i-- {
		b := read(t, fmt.Sprintf("%s.%d", path, i))
		if len(b) > maxBytes {
			t.Errorf("%s.%d holds %d bytes, over %d", path, i, len(b), maxBytes)
		}
		if !strings.HasSuffix(b, "\n") {
			t.Errorf("%s.%d ends mid-record", path, i)
		}
		all.WriteString(b)
	}
	all.WriteString(read(t, path))
	if len(names) < 10 {
		t.Errorf("only %d files: rotation did not happen often enough to test it", len(names))
	}

	next := make([]int, writers)
	lines := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	for _, line := range lines {
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 {
			t.Fatalf("malformed record %q", line)
		}
		g, err1 := strconv.Atoi(strings.TrimPrefix(f[0], "w"))
		i, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || g < 0 || g >= writers || i != next[g] || f[2] != strings.Repeat("-", i%40) {
			t.Fatalf("record %q out of order or damaged (want w%02d %05d)", line, g, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != each {
			t.Errorf("writer %d: %d records, want %d", g, n, each)
		}
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
