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
//
// It also returns the stamp of the file it opened (zero if it opened
// none), so the caller can tell later, with a stat, whether it changed.
func readOwnFile(p string, limit int64, uid int) ([]byte, fileStamp, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fileStamp{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, err
	}
	stamp := stampOf(st)
	if !st.Mode().IsRegular() {
		return nil, stamp, fmt.Errorf("%s is not a regular file", p)
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || (int(s.Uid) != os.Geteuid() && int(s.Uid) != uid) {
		return nil, stamp, fmt.Errorf("%s is owned by another user", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, stamp, err
	}
	if int64(len(b)) > limit {
		return nil, stamp, fmt.Errorf("%s is %w", p, errFileTooBig)
	}
	return b, stamp, nil
}

// fileStamp tells one state of a file from another without reading it:
// which file (device, inode), its size, modification time, mode and
// owner. A file replaced (as rotor and most tools write) is another
// inode; one edited in place has another size or mtime.
type fileStamp struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
	mode     os.FileMode
	uid      uint32
}

// stampOf is st's stamp; zero if the system says nothing of it.
func stampOf(st os.FileInfo) fileStamp {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}
	}
	return fileStamp{dev: uint64(s.Dev), ino: uint64(s.Ino), size: st.Size(), mtime: st.ModTime().UnixNano(), mode: st.Mode(), uid: s.Uid}
}

// statStamp is the stamp of what is at p, without following a symlink;
// ok is false if nothing is.
func statStamp(p string) (fileStamp, bool) {
	st, err := os.Lstat(p)
	if err != nil {
		return fileStamp{}, false
	}
	return stampOf(st), true
}
