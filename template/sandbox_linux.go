//go:build linux

package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

const nonblock = unix.O_NONBLOCK

// openInSandbox opens p only if it lies below sandbox. After the path
// check, the file is opened with openat2(RESOLVE_BENEATH) from the
// sandbox directory, so a symlink swapped in between the check and the
// open cannot lead out either. Kernels without openat2 (before 5.6) get
// the check alone.
func openInSandbox(sandbox, p string) (*os.File, error) {
	real, err := resolveInSandbox(sandbox, p)
	if err != nil {
		return nil, err
	}
	sb, _ := filepath.EvalSymlinks(sandbox)
	sb, _ = filepath.Abs(sb)
	rel, _ := filepath.Rel(sb, real)
	dir, err := unix.Open(sb, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox_path: %w", err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.ENOSYS):
		return openRegular(real)
	case errors.Is(err, unix.EXDEV):
		return nil, fmt.Errorf("file %q is outside sandbox_path %s", p, sandbox)
	case err != nil:
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), real)
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return f, nil
}
