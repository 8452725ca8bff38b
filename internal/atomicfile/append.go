package atomicfile

import (
	"fmt"
	"os"
	"syscall"
)

// Append adds data at the end of the regular file at path, creating it
// with Mode if missing, then gives it Mode and, where UID/GID are not -1,
// that owner. It is not atomic (a reader may see part of data): it exists
// for consul-template's writeToFile "append", whose files grow. It never
// follows a symbolic link at path and never opens anything but a regular
// file (an error wrapping ErrNotRegular). Only Mode, UID and GID of o are
// used.
func Append(path string, data []byte, o Options) error {
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|oNoFollow|syscall.O_NONBLOCK|syscall.O_CLOEXEC, o.Mode.Perm())
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("append to %s: %w", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("append to %s: it is %s: %w", path, kind(st.Mode()), ErrNotRegular)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("append to %s: %w", path, unwrapPath(err))
	}
	if err := setModeOwner(f, path, o); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("append to %s: sync: %w", path, unwrapPath(err))
	}
	return f.Close()
}
