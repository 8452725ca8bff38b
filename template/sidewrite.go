package template

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// sideWrite is one writeToFile call of an execution, staged: it is done
// only when its template publishes (after the group's certificate check,
// before the template's own file), never by an execution whose output is
// thrown away (secrets still missing, an error, a refused certificate).
type sideWrite struct {
	path   string // absolute, checked against sandbox_path
	data   []byte
	append bool
	mode   os.FileMode
	uid    int
	gid    int
}

// writeToFileFunc is consul-template's writeToFile(path, user, group,
// perms, [flags,] content) with the same arguments and result (""), but
// staged (see sideWrite), written through internal/atomicfile (no
// symlink followed at path; "append" appends to a regular file only), and
// confined to sandbox_path when one is set.
func (t *tmpl) writeToFileFunc(path, username, groupName, permissions string, args ...string) (string, error) {
	if len(args) == 0 || len(args) > 2 {
		return "", fmt.Errorf("writeToFile: wrong number of arguments, expected 5 or 6")
	}
	flags := ""
	if len(args) == 2 {
		flags = args[0]
	}
	content := args[len(args)-1]
	perm, err := strconv.ParseUint(permissions, 8, 32)
	if err != nil {
		return "", err
	}
	uid, gid, err := atomicfile.Owner{User: username, Group: groupName}.Resolve()
	if err != nil {
		return "", fmt.Errorf("writeToFile: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("writeToFile: %w", err)
	}
	if t.cfg.SandboxPath != "" {
		if err := writableInSandbox(t.cfg.SandboxPath, abs); err != nil {
			return "", fmt.Errorf("writeToFile: %w", err)
		}
	}
	w := sideWrite{path: abs, data: []byte(content), append: strings.Contains(flags, "append"),
		mode: os.FileMode(perm).Perm(), uid: uid, gid: gid}
	if strings.Contains(flags, "newline") {
		w.data = append(w.data, '\n')
	}
	t.rec.writes = append(t.rec.writes, w)
	return "", nil
}

// writableInSandbox checks that p, once the symlinks of its existing part
// are resolved, lies below sandbox (resolved too). The missing part of p
// is created by the write, as directories without links.
func writableInSandbox(sandbox, p string) error {
	existing := p
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			break
		}
		existing = parent
	}
	if _, err := resolveInSandbox(sandbox, existing); err != nil {
		return fmt.Errorf("file %q is outside sandbox_path %s", p, sandbox)
	}
	return nil
}

// do performs the staged write; the sandbox is checked again, as the
// directories may have changed since the render.
func (w sideWrite) do(sandbox string) error {
	if sandbox != "" {
		if err := writableInSandbox(sandbox, w.path); err != nil {
			return fmt.Errorf("writeToFile: %w", err)
		}
	}
	o := atomicfile.Options{Mode: w.mode, UID: w.uid, GID: w.gid}
	if w.append {
		// consul-template's append creates the file, not its directory.
		return atomicfile.Append(w.path, w.data, o)
	}
	o.CreateDirs = true
	_, err := atomicfile.Write(w.path, w.data, o)
	return err
}

// doWrites performs t's staged writes, in the order the template made
// them, and forgets them.
func (t *tmpl) doWrites() error {
	ws := t.staged
	t.staged = nil
	for _, w := range ws {
		if err := w.do(t.cfg.SandboxPath); err != nil {
			return err
		}
	}
	return nil
}
