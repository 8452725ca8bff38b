package atomicfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Item is one file of a group write.
type Item struct {
	Path string
	Data []byte
	Options
}

// journalPrefix and journalSuffix name a group write's journal:
// .rotor-group-<digits>.journal, in the directory of its first file.
const (
	journalPrefix = ".rotor-group-"
	journalSuffix = ".journal"
)

// journal lists a group write's renames still to do.
type journal struct {
	Renames []rename `json:"renames"`
}

type rename struct {
	Tmp  string `json:"tmp"`
	Path string `json:"path"`
}

// WriteGroup writes several files that belong together (a certificate,
// its key and its chain) in two phases, so that a reader never sees one
// file of the group new and another old for longer than a rename takes,
// and a crash never leaves them so for good:
//
//  1. every changed file is written to a temporary file next to it, with
//     its mode and owner, and synced; nothing is visible yet, so a crash
//     here leaves the old group whole (Cleanup removes the temporaries);
//  2. a journal naming the renames is written and synced, then the files
//     are renamed over their destinations one after the other, then the
//     journal is removed. A crash here is finished by Recover at the next
//     start, without Vault: every temporary file is complete by then.
//
// It reports, per item, whether the file changed. Unchanged files are not
// touched; a group with one changed file is a plain Write.
func WriteGroup(items []Item) (changed []bool, err error) {
	if len(items) == 1 {
		// Write makes the same checks (looking at the file once, not
		// twice: templates are mostly groups of one).
		c, err := Write(items[0].Path, items[0].Data, items[0].Options)
		return []bool{c}, err
	}
	changed = make([]bool, len(items))
	var todo []int
	var tmps []string
	defer func() {
		if err != nil {
			for _, t := range tmps {
				os.Remove(t) // not renamed yet: nothing visible changes
			}
		}
	}()
	for i, it := range items {
		o := it.Options
		if o.Mode == 0 {
			o.Mode = 0o600
		}
		cur, err := inspect(it.Path, it.Data)
		if err != nil {
			return changed, err
		}
		o = o.keep(cur.info)
		if cur.same && modeOwnerOK(it.Path, cur.info, o) {
			continue
		}
		tmp, err := prepare(it.Path, it.Data, o)
		if err != nil {
			return changed, err
		}
		todo, tmps = append(todo, i), append(tmps, tmp)
	}
	if len(todo) == 0 {
		return changed, nil
	}
	j := journal{}
	for k, i := range todo {
		abs, err := filepath.Abs(items[i].Path)
		if err != nil {
			return changed, err
		}
		tmp, _ := filepath.Abs(tmps[k])
		j.Renames = append(j.Renames, rename{Tmp: tmp, Path: abs})
	}
	jpath, err := writeJournal(filepath.Dir(items[todo[0]].Path), j)
	if err != nil {
		return changed, err
	}
	// From here on the temporary files belong to the journal: a failure
	// leaves them for Recover rather than removing them.
	tmps = nil
	var errs []error
	dirs := map[string]*DirSyncer{}
	for k, i := range todo {
		it := items[i]
		if it.Backup {
			if err := backup(it.Path, it.Options); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := replaceFile(j.Renames[k].Tmp, it.Path); err != nil {
			errs = append(errs, fmt.Errorf("write %s: rename: %w", it.Path, unwrapPath(err)))
			continue
		}
		changed[i] = true
		dirs[filepath.Dir(it.Path)] = it.Dirs
	}
	for dir, ds := range dirs {
		ds.Sync(dir)
	}
	if len(errs) > 0 {
		return changed, errors.Join(errs...) // the journal stays: Recover finishes the group
	}
	os.Remove(jpath)
	syncDir(filepath.Dir(jpath))
	return changed, nil
}

// prepare writes data to a new temporary file next to path, its mode
// and owner set before any secret byte is written (on Windows, from its
// creation), and synced. It returns the file's name.
func prepare(path string, data []byte, o Options) (string, error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, tempPattern(path), o)
	if errors.Is(err, fs.ErrNotExist) && o.CreateDirs {
		// Create the directories only when missing: one syscall less per
		// file in the common case, which counts with hundreds of files.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("create directory %s: %w", dir, unwrapPath(err))
		}
		tmp, err = createTemp(dir, tempPattern(path), o)
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	fail := func(err error) (string, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := setModeOwner(tmp, path, o); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(fmt.Errorf("write %s: %w", path, unwrapPath(err)))
	}
	if err := tmp.Sync(); err != nil {
		return fail(fmt.Errorf("write %s: sync: %w", path, unwrapPath(err)))
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return tmp.Name(), nil
}

// writeJournal writes j durably in dir and returns its path.
func writeJournal(dir string, j journal) (string, error) {
	b, err := json.Marshal(j)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, journalPrefix+"*"+journalSuffix)
	if err != nil {
		return "", fmt.Errorf("write group journal in %s: %w", dir, unwrapPath(err))
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write group journal in %s: %w", dir, unwrapPath(err))
	}
	syncDir(dir) // the journal's name must outlive a crash before the renames
	return f.Name(), nil
}

// Recover finishes the group writes a crash interrupted in dir: for each
// journal there, every temporary file it names that is still there is
// renamed over its destination, then the journal is removed. Call it at
// start, before Cleanup (which would remove those temporary files) and
// before anything writes. Only regular files owned by rotor's user (or
// by the destination's owner, whom KeepOwner gives them) are renamed, and only to the destinations the journal names next to them.
func Recover(dir string) (renamed []string, err error) {
	entries, err := os.ReadDir(filepath.Join(dir, "."))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", dir, unwrapPath(err))
	}
	euid := os.Geteuid()
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, journalPrefix) || !strings.HasSuffix(name, journalSuffix) || !e.Type().IsRegular() {
			continue
		}
		jpath := filepath.Join(dir, name)
		b, err := ReadRegular(jpath, 1<<20)
		var j journal
		if err == nil {
			err = json.Unmarshal(b, &j)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("recover %s: %w", jpath, err))
			continue
		}
		for _, r := range j.Renames {
			// A journal names a temporary file next to its destination,
			// with the destination's own temporary name: nothing else.
			if filepath.Dir(r.Tmp) != filepath.Dir(r.Path) || tempOf(filepath.Base(r.Tmp)) != filepath.Base(r.Path) {
				errs = append(errs, fmt.Errorf("recover %s: entry %s -> %s is not a rotor group write", jpath, r.Tmp, r.Path))
				continue
			}
			st, err := os.Lstat(r.Tmp)
			if err != nil || !st.Mode().IsRegular() {
				continue // renamed before the crash
			}
			if !leftoverOwned(r.Tmp, st, euid) && !leftoverOwned(r.Tmp, st, destOwner(r.Path)) {
				continue
			}
			if err := replaceFile(r.Tmp, r.Path); err != nil {
				errs = append(errs, fmt.Errorf("recover %s: %w", r.Path, unwrapPath(err)))
				continue
			}
			renamed = append(renamed, r.Path)
			syncDir(filepath.Dir(r.Path))
		}
		if err := syscall.Unlink(jpath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("recover %s: %w", jpath, err))
		}
	}
	syncDir(dir)
	return renamed, errors.Join(errs...)
}
