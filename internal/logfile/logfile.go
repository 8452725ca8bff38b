// Package logfile is an append-only log file that rotates by size, for
// rotor's logs when no journal or container runtime collects stderr.
//
// Rotation is the classic numbered scheme: path is the live file, path.1
// the one before it, up to path.<keep>. A single Write is never split
// between two files, so a log record (one slog line) is always whole.
package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
)

// Writer appends to a file and rotates it when the next write would take
// it past the size limit. It is safe for concurrent use: writes are
// serialised, so records from several goroutines never interleave.
type Writer struct {
	path     string
	maxBytes int64
	keep     int

	mu       sync.Mutex // guards everything below; held across rotation so no write lands mid-rename
	f        *os.File   // nil once closed
	size     int64      // bytes in f, counted from Open's stat
	rotateAt int64      // size past which the next write rotates first
}

// Open opens path for appending, creating it with mode 0600 (log lines
// name paths, accessors and hosts: not for other users). The parent
// directory must exist. Existing content is kept and counts towards
// maxBytes.
//
// maxBytes is the size a file may reach before the next write goes to a
// fresh one; maxBytes <= 0 turns rotation off. keep is how many rotated
// files (path.1 .. path.<keep>) are kept; with keep 0 the full file is
// deleted on rotation.
func Open(path string, maxBytes int64, keep int) (*Writer, error) {
	if path == "" {
		return nil, errors.New("logfile: empty path")
	}
	if keep < 0 {
		return nil, fmt.Errorf("logfile: keep = %d, want >= 0", keep)
	}
	w := &Writer{path: path, maxBytes: maxBytes, keep: keep, rotateAt: maxBytes}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// Write appends p as one record. If the file already holds data and p
// would take it past maxBytes, the file is rotated first, so p lands whole
// in the new file. A p larger than maxBytes by itself is still written
// whole, alone in its file.
//
// If rotation fails (a backup that cannot be renamed, say), p is still
// appended to the current file and Write returns len(p) with the rotation
// error: a log line is worth more than the size limit. Rotation is tried
// again once another maxBytes have been written, not on every Write.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, fmt.Errorf("logfile: write %s: %w", w.path, os.ErrClosed)
	}
	var rotErr error
	if w.maxBytes > 0 && w.size > 0 && w.size+int64(len(p)) > w.rotateAt {
		rotErr = w.rotate()
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if rotErr != nil {
		// Counted from after this record, so the retry comes a full
		// maxBytes later and a broken rotation costs one attempt per
		// maxBytes of log, not one per line.
		w.rotateAt = w.size + w.maxBytes
	}
	if err != nil {
		return n, fmt.Errorf("logfile: write %s: %w", w.path, err)
	}
	return n, rotErr
}

// Close closes the file. Later writes fail with os.ErrClosed; closing
// again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("logfile: close %s: %w", w.path, err)
	}
	return nil
}

// open opens (or creates) the live file and learns its size.
func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logfile: %w", err)
	}
	w.f, w.size, w.rotateAt = f, st.Size(), w.maxBytes
	return nil
}

// rotate shifts the backups up by one, moves the live file to path.1 and
// opens a fresh one. It is called with w.mu held.
//
// The old file stays open until the new one is open: renaming an open
// file is fine on Unix, and if any step fails w.f is still a usable file,
// so the caller can write the record there instead of losing it.
func (w *Writer) rotate() error {
	// Backups past keep are left from a run with a larger keep: drop them,
	// stopping at the first gap.
	for i := w.keep + 1; ; i++ {
		if err := os.Remove(w.backup(i)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("logfile: rotate: %w", err)
			}
			break
		}
	}
	if w.keep == 0 {
		if err := os.Remove(w.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: rotate: %w", err)
		}
	} else {
		// Oldest first, so each rename lands on a name already freed;
		// rename replaces path.<keep>, which is how the oldest goes.
		for i := w.keep - 1; i >= 1; i-- {
			if err := os.Rename(w.backup(i), w.backup(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("logfile: rotate: %w", err)
			}
		}
		// ErrNotExist: someone removed the live file; there is nothing to
		// keep, and a fresh file is what we want anyway.
		if err := os.Rename(w.path, w.backup(1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: rotate: %w", err)
		}
	}
	old := w.f
	if err := w.open(); err != nil {
		return err
	}
	// The old file's data is complete (every Write returned); a close
	// error cannot lose anything, so it is not reported.
	old.Close()
	return nil
}

// backup names the i-th rotated file.
func (w *Writer) backup(i int) string { return w.path + "." + strconv.Itoa(i) }
