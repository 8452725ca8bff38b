package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// backup makes <path>.bak the file now at path, just before Write renames
// the new content over path.
//
// It hard-links the current file: the rename then gives path a new inode
// and the .bak keeps the old one, untouched. No byte is read or copied and
// no mode or owner changes, so the backup cannot expose anything its
// reader could not already read. That matters because the destination
// directory is often writable by the application's user: when rotor runs
// as root, a symlink planted at path to /etc/shadow must not turn into a
// readable copy. Only a regular file is backed up; a symlink (never
// followed) or anything else at path gets no backup.
func backup(path string, o Options) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup %s: %w", path, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	tmp, err := linkTemp(path)
	switch {
	case err == nil:
		// The path may have been swapped for a symlink since the Lstat (a
		// hard link to a symlink is a symlink): keep only a regular file.
		if lst, err := os.Lstat(tmp); err != nil || !lst.Mode().IsRegular() {
			os.Remove(tmp)
			return nil
		}
		if err := replaceFile(tmp, path+".bak"); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("backup %s: rename: %w", path, unwrapPath(err))
		}
		return nil
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EOPNOTSUPP),
		errors.Is(err, syscall.EMLINK), errors.Is(err, syscall.EXDEV):
		// No hard links here (vfat, some FUSE file systems), or not
		// allowed for this file (protected_hardlinks): copy instead.
		return copyBackup(path, o)
	}
	return fmt.Errorf("backup %s: link: %w", path, unwrapPath(err))
}

// linkTemp hard-links path (never following a symlink) under a new
// temporary name .<name>.bak.tmp-<digits> in its directory and returns
// that name.
func linkTemp(path string) (string, error) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".bak"+tempInfix
	for range 100 {
		tmp := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		// linkat without AT_SYMLINK_FOLLOW links a symlink itself.
		err := os.Link(path, tmp)
		if !errors.Is(err, fs.ErrExist) {
			return tmp, err
		}
	}
	return "", fmt.Errorf("no free temporary name for %s", path)
}

// copyBackup is the backup where hard links are not possible. It copies
// only what rotor could have written itself: a regular file (O_NOFOLLOW,
// checked by fstat on the opened file), with one link (not a hard link to
// some other file such as /etc/shadow), owned by rotor or by the owner it
// gives the file. Anything else gets no backup.
func copyBackup(path string, o Options) error {
	cur, st, err := readRegular(path, maxBackup, oNoFollow)
	if err != nil || !copyAllowed(path, st, o) {
		return nil
	}
	o.Backup, o.CreateDirs = false, false
	if _, err := Write(path+".bak", cur, o); err != nil {
		return fmt.Errorf("backup %s: %w", path, err)
	}
	return nil
}

// maxBackup bounds what copyBackup reads: a rendered file larger than this
// is not a template's output.
const maxBackup = 64 << 20
