//go:build unix

package template

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A symlink inside sandbox_path that leads out of it must not let the
// file function read outside (consul-template resolves symlinks too).
func TestFileSandboxResolvesSymlinks(t *testing.T) {
	root := t.TempDir()
	sb := filepath.Join(root, "sandbox")
	os.Mkdir(sb, 0o755)
	secret := filepath.Join(root, "outside.txt")
	os.WriteFile(secret, []byte("outside-secret"), 0o600)
	os.WriteFile(filepath.Join(sb, "in.txt"), []byte("inside"), 0o600)
	os.Symlink(secret, filepath.Join(sb, "escape"))
	os.Symlink(filepath.Join(sb, "in.txt"), filepath.Join(sb, "ok-link"))
	os.Mkdir(filepath.Join(sb, "d"), 0o755)
	os.Symlink(root, filepath.Join(sb, "d", "up"))

	tm := &tmpl{cfg: &Spec{SandboxPath: sb, MaxBytes: 1 << 20}}
	if got, err := tm.fileFunc(filepath.Join(sb, "in.txt")); err != nil || got != "inside" {
		t.Fatalf("file inside: %q %v", got, err)
	}
	if got, err := tm.fileFunc(filepath.Join(sb, "ok-link")); err != nil || got != "inside" {
		t.Fatalf("symlink staying inside: %q %v", got, err)
	}
	for _, p := range []string{filepath.Join(sb, "escape"), filepath.Join(sb, "d", "up", "outside.txt"), secret, filepath.Join(sb, "..", "outside.txt")} {
		got, err := tm.fileFunc(p)
		if err == nil || strings.Contains(got, "outside-secret") || !strings.Contains(err.Error(), "outside sandbox_path") {
			t.Errorf("%s: read %q, err %v; want an outside-sandbox error", p, got, err)
		}
	}
}

// The file function never blocks on a FIFO, and never reads past the cap.
func TestFileRefusesFIFOAndHugeFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	tm := &tmpl{cfg: &Spec{MaxBytes: 10}}
	done := make(chan error, 1)
	go func() { _, err := tm.fileFunc(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the file function blocked on a FIFO")
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte("0123456789ab"), 0o600)
	if _, err := tm.fileFunc(big); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Fatalf("oversized file: %v", err)
	}
}

// A rendered template larger than its cap is refused, and nothing is
// written: a loop over a huge secret cannot fill the disk.
func TestRenderedSizeCap(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "big.txt")
	r, logs := liveRunner(t, []Spec{{Contents: `{{ range $i := loop 100 }}0123456789{{ end }}`, Destination: out, Perms: 0o600, MaxBytes: 500}}, Options{})
	eventually(t, "the failure", func() error {
		for _, st := range r.Status() {
			if strings.Contains(st.LastError, "size limit") {
				return nil
			}
		}
		return errors.New("no size error yet: " + logs.String())
	})
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an oversized render was written")
	}
}
