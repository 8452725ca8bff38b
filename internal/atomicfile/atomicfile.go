// Package atomicfile is the one way rotor writes files: sinks and templates
// both go through Write, so a reader never sees a partial file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Options say how a file is written. UID and GID of -1 keep the writer's.
type Options struct {
	// Mode is the file's exact mode; the umask does not apply (a caller
	// that wants it applies Masked). 0 means 0600.
	Mode       os.FileMode
	UID, GID   int
	CreateDirs bool // create missing parent directories (0755)
	Backup     bool // keep the previous content as <path>.bak
	// Dirs, if set, syncs the directory after the rename, sharing one
	// fsync among concurrent writers to the same directory. Nil: the
	// directory is synced by this call alone.
	Dirs *DirSyncer
	// Owner names the accounts UID and GID came from. Windows has no
	// numeric ids: there the file's ACL grants Mode's owner bits to
	// Owner.User and its group bits to Owner.Group (see acl.go).
	// Unix ignores it.
	Owner Owner
	// KeepMode: when path already holds a regular file, the new file gets
	// that file's permission bits (setuid, setgid and sticky dropped) and
	// Mode applies only to a new file; a mode that differs is then no
	// reason to write the same bytes again. It is consul-template's rule
	// (and so Vault Agent's) for a template without perms: an
	// application's 0600 file stays 0600. Unix only.
	KeepMode bool
	// KeepOwner: when path already holds a regular file, the new file gets
	// that file's owner where UID is -1 and its group where GID is -1, as
	// consul-template's renderer does for every template. It is best
	// effort, as there: if rotor may not give the file that owner (rotor is
	// not root), the file gets UID and GID (the writer's when -1) and Warn
	// is told. Unix only. A symbolic link at path is not followed: the new
	// file then gets Mode and UID/GID, as a new file does.
	KeepOwner bool
	// Warn, if set, hears what Write could not do without failing (the
	// owner KeepOwner asked for). It may be called from Write's goroutine.
	Warn func(error)

	// requested is UID/GID as the caller gave them, before KeepOwner
	// replaced a -1 with the existing file's; kept says it did.
	requestedUID, requestedGID int
	kept                       bool
}

// Write replaces path with data atomically: a temporary file in the same
// directory is written, synced, given its mode and owner, and renamed over
// path; then the directory is synced. It returns changed=false and touches
// nothing when path already holds exactly data with the wanted mode.
//
// Write never writes through a symbolic link at path (the rename replaces
// the link) and never reads one; a directory, named pipe, socket or device
// at path is refused with an error wrapping ErrNotRegular. The directories
// above path are trusted (docs/configuration.md, "Writing").
func Write(path string, data []byte, o Options) (changed bool, err error) {
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	cur, err := inspect(path, data)
	if err != nil {
		return false, err
	}
	o = o.keep(cur.info)
	if cur.same && modeOwnerOK(path, cur.info, o) {
		return false, nil
	}
	dir := filepath.Dir(path)
	if !cur.exists && !o.Backup {
		// A new file: write it unnamed and link it in whole, one
		// directory operation instead of two (create + rename). With
		// hundreds of files in one directory, its lock is the bottleneck.
		if ok, err := createLinked(path, dir, data, o); ok || err != nil {
			if err == nil {
				o.Dirs.Sync(dir)
			}
			return err == nil, err
		}
	}
	tmpName, err := prepare(path, data, o)
	if err != nil {
		return false, err
	}
	if o.Backup {
		if err := backup(path, o); err != nil {
			os.Remove(tmpName)
			return false, err
		}
	}
	if err := replaceFile(tmpName, path); err != nil {
		os.Remove(tmpName)
		return false, fmt.Errorf("write %s: rename: %w", path, unwrapPath(err))
	}
	o.Dirs.Sync(dir)
	return true, nil
}

// keep returns o with KeepMode and KeepOwner applied to the regular file
// st describes (nil: none is there).
func (o Options) keep(st os.FileInfo) Options {
	if st == nil {
		return o
	}
	if o.KeepMode {
		if m, ok := keptMode(st); ok {
			o.Mode = m
		}
	}
	if o.KeepOwner && (o.UID < 0 || o.GID < 0) {
		if uid, gid, ok := fileOwner(st); ok {
			o.requestedUID, o.requestedGID, o.kept = o.UID, o.GID, true
			if o.UID < 0 {
				o.UID = uid
			}
			if o.GID < 0 {
				o.GID = gid
			}
		}
	}
	return o
}

// tempPattern is the os.CreateTemp pattern of path's temporary files:
// .<name>.tmp-<digits>. Cleanup removes exactly these names.
func tempPattern(path string) string { return "." + filepath.Base(path) + tempInfix + "*" }

// tempInfix separates a destination's name from the random digits in the
// names of its temporary files.
const tempInfix = ".tmp-"

// unwrapPath drops the *PathError wrapper: the caller already names the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Owner names who should own a written file: a user and a group, each by
// name or by number. Empty keeps the writer's. It is comparable.
type Owner struct {
	User  string
	Group string
}
