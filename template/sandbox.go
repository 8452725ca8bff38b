package template

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errFileTooBig is returned for a file or a render past the size cap.
var errFileTooBig = errors.New("larger than the size limit")

// readLocal reads a local file for the file function: a regular file
// only (a FIFO would block the render forever, a device could be
// endless), at most limit bytes, and, with a sandbox, only if the file
// really lies below it once every symlink is resolved.
func readLocal(p, sandbox string, limit int64) (string, error) {
	var f *os.File
	var err error
	if sandbox != "" {
		f, err = openInSandbox(sandbox, p)
	} else {
		f, err = openRegular(p)
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return "", err
	}
	if int64(len(b)) > limit {
		return "", fmt.Errorf("%s is %w (%d bytes)", p, errFileTooBig, limit)
	}
	return string(b), nil
}

// openRegular opens p without blocking and checks it is a regular file.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s)", p, st.Mode().Type())
	}
	return f, nil
}

// resolveInSandbox resolves every symlink in p and in the sandbox, and
// returns p's real path if it lies below the sandbox's real path, as
// consul-template does (a symlink inside the sandbox must not lead out).
func resolveInSandbox(sandbox, p string) (string, error) {
	sb, err := filepath.EvalSymlinks(sandbox)
	if err != nil {
		return "", fmt.Errorf("sandbox_path: %w", err)
	}
	if sb, err = filepath.Abs(sb); err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(sb, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("file %q is outside sandbox_path %s", p, sandbox)
	}
	return real, nil
}
