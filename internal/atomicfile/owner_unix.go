//go:build unix

package atomicfile

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// oNoFollow makes an open fail on a symbolic link instead of following it.
const oNoFollow = syscall.O_NOFOLLOW

// createTemp creates a new temporary file in dir (os.CreateTemp: mode
// 0600 whatever the umask, so nobody else can open it before
// setModeOwner runs).
func createTemp(dir, pattern string, _ Options) (*os.File, error) {
	return os.CreateTemp(dir, pattern)
}

// setModeOwner gives the temporary file f, to be renamed to path, its
// final mode and owner.
func setModeOwner(f *os.File, path string, o Options) error {
	if err := f.Chmod(o.Mode); err != nil {
		return fmt.Errorf("write %s: chmod: %w", path, unwrapPath(err))
	}
	if o.UID >= 0 || o.GID >= 0 {
		err := f.Chown(o.UID, o.GID)
		if err != nil && o.kept {
			// The existing file's owner was best effort (KeepOwner): the
			// file gets what the caller asked for, and the caller hears.
			if o.Warn != nil {
				o.Warn(fmt.Errorf("write %s: cannot keep the file's owner %d:%d: %w", path, o.UID, o.GID, unwrapPath(err)))
			}
			err = nil
			if o.requestedUID >= 0 || o.requestedGID >= 0 {
				err = f.Chown(o.requestedUID, o.requestedGID)
			}
			o.UID, o.GID = o.requestedUID, o.requestedGID
		}
		if err != nil {
			return fmt.Errorf("write %s: chown %d:%d: %w", path, o.UID, o.GID, unwrapPath(err))
		}
	}
	return nil
}

// keptMode is the permission bits KeepMode keeps of the file st
// describes: never setuid, setgid or sticky, which a file holding
// secrets has no use for.
func keptMode(st os.FileInfo) (os.FileMode, bool) { return st.Mode().Perm(), true }

// modeOwnerOK reports whether the file at path (st, from fstat) already
// has the wanted mode and owner, so identical bytes need no rewrite.
func modeOwnerOK(_ string, st os.FileInfo, o Options) bool {
	return st.Mode().Perm() == o.Mode.Perm() && ownerOK(st, o)
}

func ownerOK(st os.FileInfo, o Options) bool {
	uid, gid, ok := fileOwner(st)
	if !ok {
		return true
	}
	return (o.UID < 0 || o.UID == uid) && (o.GID < 0 || o.GID == gid)
}

// replaceFile renames from over to: rename(2) replaces atomically, and
// readers holding the old file keep reading it.
func replaceFile(from, to string) error { return os.Rename(from, to) }

func fileOwner(st os.FileInfo) (uid, gid int, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(s.Uid), int(s.Gid), true
}

// copyAllowed reports whether copyBackup may copy the file st describes:
// one link (not a hard link to some other file such as /etc/shadow),
// owned by rotor or by the owner it gives the file.
func copyAllowed(_ string, st os.FileInfo, o Options) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return ok && s.Nlink == 1 && (int(s.Uid) == os.Geteuid() || int(s.Uid) == o.UID)
}

// leftoverOwned reports whether a leftover temporary file (st, from
// lstat) belongs to rotor's effective uid or to uid, the one its target
// is given: Cleanup removes nothing else.
func leftoverOwned(_ string, st os.FileInfo, uid int) bool {
	owner, _, ok := fileOwner(st)
	return ok && (owner == os.Geteuid() || owner == uid)
}

// Resolve turns the names or numbers into numeric ids; -1 means "leave as
// the writer's". An unknown name is an error that names it.
func (o Owner) Resolve() (uid, gid int, err error) {
	uid, gid = -1, -1
	if o.User != "" {
		if n, err := strconv.Atoi(o.User); err == nil {
			uid = n
		} else {
			usr, err := user.Lookup(o.User)
			if err != nil {
				return 0, 0, fmt.Errorf("unknown user %q", o.User)
			}
			uid, _ = strconv.Atoi(usr.Uid)
		}
	}
	if o.Group != "" {
		if n, err := strconv.Atoi(o.Group); err == nil {
			gid = n
		} else {
			grp, err := user.LookupGroup(o.Group)
			if err != nil {
				return 0, 0, fmt.Errorf("unknown group %q", o.Group)
			}
			gid, _ = strconv.Atoi(grp.Gid)
		}
	}
	return uid, gid, nil
}
