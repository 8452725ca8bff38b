//go:build linux && !rotor_portable

package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// linkedWrites: new files are written unnamed and linked in whole.
const linkedWrites = true

// createLinked writes a new file with O_TMPFILE (no name until it is
// complete: mode, owner, content and fsync come first) and links it at
// path. ok is false, with no error, when the filesystem cannot do this
// or path appeared meanwhile: the caller then takes the rename path.
func createLinked(path, dir string, data []byte, o Options) (ok bool, err error) {
	fd, err := unix.Open(dir, unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, uint32(o.Mode.Perm()))
	if err != nil {
		return false, nil // not supported here (or no directory): the usual path reports errors
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := f.Chmod(o.Mode); err != nil {
		return false, fmt.Errorf("write %s: chmod: %w", path, unwrapPath(err))
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := f.Chown(o.UID, o.GID); err != nil {
			return false, fmt.Errorf("write %s: chown %d:%d: %w", path, o.UID, o.GID, unwrapPath(err))
		}
	}
	if _, err := f.Write(data); err != nil {
		return false, fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("write %s: sync: %w", path, unwrapPath(err))
	}
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOENT) {
		return false, nil // created meanwhile, or no /proc: replace it the usual way
	}
	if err != nil {
		return false, fmt.Errorf("write %s: link: %w", path, err)
	}
	return true, nil
}
