package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Target is a file rotor writes, for Cleanup: its path and the uid Write
// gives it (-1: rotor's own).
type Target struct {
	Path string
	UID  int
}

// Cleanup removes the temporary files that writes to targets left behind
// when rotor was killed between creating and renaming them (SIGKILL, a
// crash, a power cut): .<name>.tmp-<digits> and .<name>.bak.tmp-<digits>
// next to each target, where <name> is the target's own name. Such a file
// may hold a secret nobody will ever read or remove otherwise.
//
// Nothing else is touched: only entries whose whole name has that form
// for one of the targets, that are regular files (checked without
// following links) and that belong to rotor's effective uid, to the
// target's uid, or to the owner of the file now at the destination (whom
// KeepOwner gives its temporary files). A directory that does not exist is skipped. Each directory
// is read once. Call it at start, before anything writes to the targets:
// a write in progress in this process would lose its temporary file.
// It returns the paths removed and the errors met, joined.
func Cleanup(targets []Target) (removed []string, err error) {
	// dir -> name -> uid that name's target is given
	byDir := map[string]map[string]int{}
	for _, t := range targets {
		if t.Path == "" {
			continue
		}
		dir, name := filepath.Split(filepath.Clean(t.Path))
		if byDir[dir] == nil {
			byDir[dir] = map[string]int{}
		}
		byDir[dir][name] = t.UID
		byDir[dir][name+".bak"] = t.UID
	}
	var errs []error
	for dir, names := range byDir {
		entries, err := os.ReadDir(filepath.Join(dir, "."))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("clean up %s: %w", dir, unwrapPath(err)))
			continue
		}
		for _, e := range entries {
			uid, ok := names[tempOf(e.Name())]
			if !ok || !e.Type().IsRegular() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			st, err := os.Lstat(p)
			if err != nil || !st.Mode().IsRegular() {
				continue
			}
			// KeepOwner gives a temporary file the destination's owner.
			if !leftoverOwned(p, st, uid) && !leftoverOwned(p, st, destOwner(filepath.Join(dir, tempOf(e.Name())))) {
				continue
			}
			// unlink, never rmdir: whatever the name holds by now, no
			// directory is removed and no link is followed.
			if err := syscall.Unlink(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("clean up %s: %w", p, err))
				continue
			}
			removed = append(removed, p)
		}
	}
	return removed, errors.Join(errs...)
}

// destOwner is the uid owning the regular file at path (not following a
// symlink), or -1.
func destOwner(path string) int {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	if uid, _, ok := fileOwner(st); ok {
		return uid
	}
	return -1
}

// tempOf returns the destination name a temporary file's name belongs to
// (".a.pem.tmp-123" -> "a.pem"), or "" when name is not of that form:
// a dot, a name, ".tmp-" and 1 to 10 digits (os.CreateTemp's uint32).
func tempOf(name string) string {
	i := strings.LastIndex(name, tempInfix)
	if i < 2 || name[0] != '.' {
		return ""
	}
	digits := name[i+len(tempInfix):]
	if len(digits) == 0 || len(digits) > 10 || strings.Trim(digits, "0123456789") != "" {
		return ""
	}
	return name[1:i]
}
