package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Errors ReadRegular and Write wrap; their messages name the path and what
// was found there.
var (
	// ErrNotRegular: the path holds a directory, a named pipe, a socket or
	// a device, which rotor never reads from nor replaces.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is larger than the caller's limit.
	ErrTooLarge = errors.New("file too large")
)

// ReadRegular returns the content of the regular file at path, following
// symbolic links (a Kubernetes projected token is one). It never blocks:
// the file is opened with O_NONBLOCK and checked with fstat before any
// read, so a named pipe or a device is refused at once (an error wrapping
// ErrNotRegular) instead of hanging or streaming forever. More than max
// bytes is an error wrapping ErrTooLarge. Errors are *fs.PathError and
// never include the content.
func ReadRegular(path string, max int64) ([]byte, error) {
	b, _, err := readRegular(path, max, 0)
	return b, err
}

// readRegular is ReadRegular with extra open flags (O_NOFOLLOW); it also
// returns what fstat said about the file it opened.
func readRegular(path string, max int64, flags int) ([]byte, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|flags, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, st, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("it is %s: %w", kind(st.Mode()), ErrNotRegular)}
	}
	// One byte more than allowed tells "exactly max" from "too large"
	// without reading the rest of a huge file.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, st, err
	}
	if int64(len(b)) > max {
		return nil, st, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return b, st, nil
}

// current is what is at a destination before it is written.
type current struct {
	exists bool        // something is at the path (a symlink counts)
	same   bool        // a regular file holding exactly the new bytes
	info   os.FileInfo // the regular file's fstat (or lstat), when there is one
}

// inspect looks at path without following a symlink or blocking. A
// directory, named pipe, socket or device there is an error wrapping
// ErrNotRegular that says which: rotor must not replace what it did not
// create there, and a read of a FIFO would hang forever. A symlink is
// reported as existing, never read: the rename replaces the link itself,
// so nothing is ever written (or compared) through it.
func inspect(path string, data []byte) (current, error) {
	st, err := os.Lstat(path)
	if err != nil {
		// Missing, or not inspectable (no search permission): creating
		// the temporary file next to it reports the real problem.
		return current{}, nil
	}
	switch m := st.Mode(); {
	case m&fs.ModeSymlink != 0:
		return current{exists: true}, nil
	case !m.IsRegular():
		return current{}, fmt.Errorf("write %s: refusing to replace %s: %w", path, kind(m), ErrNotRegular)
	}
	// O_NOFOLLOW and fstat: the path may have changed since the Lstat.
	// len(data)+1 bytes are enough to compare.
	cur, fst, err := readRegular(path, int64(len(data)), oNoFollow)
	switch {
	case err == nil:
		return current{exists: true, same: string(cur) == string(data), info: fst}, nil
	case errors.Is(err, ErrNotRegular) && fst.Mode()&fs.ModeSymlink == 0:
		return current{}, fmt.Errorf("write %s: refusing to replace %s: %w", path, kind(fst.Mode()), ErrNotRegular)
	case errors.Is(err, ErrTooLarge) && fst != nil:
		return current{exists: true, info: fst}, nil
	case errors.Is(err, fs.ErrPermission):
		// Not readable by rotor (another user's 0600 file, rotor not
		// root): it differs; the Lstat still tells its mode and owner.
		return current{exists: true, info: st}, nil
	}
	// A symlink by now (ELOOP; on Windows the link itself, opened), or
	// gone: it differs, replace it, keeping nothing of it.
	return current{exists: true}, nil
}

// kind names a file type for error messages.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}
