//go:build unix

package template

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// readOwnFile reads the regular file at p for certificate reuse, only if
// it is what rotor wrote there: not a symlink (O_NOFOLLOW), never blocking
// (O_NONBLOCK, then fstat), at most limit bytes, and owned by rotor's user
// or by the template's configured owner uid (-1: none). A file someone
// else planted in the destination directory is not taken for rotor's
// certificate and key.
func readOwnFile(p string, limit int64, uid int) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || (int(s.Uid) != os.Geteuid() && int(s.Uid) != uid) {
		return nil, fmt.Errorf("%s is owned by another user", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is %w", p, errFileTooBig)
	}
	return b, nil
}
