//go:build unix

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A file of nested brackets used to crash rotor with a Go stack overflow
// (fatal, not recoverable): the depth is now checked before parsing.
func TestDeepNestingIsRefusedBeforeParsing(t *testing.T) {
	dir := t.TempDir()
	deep := write(t, dir, "deep.hcl", "pid_file = "+strings.Repeat("[", 200_000)+strings.Repeat("]", 200_000)+"\n")
	_, err := Load([]string{deep}, env(nil))
	got := problems(t, err)
	if len(got) != 1 || !strings.HasPrefix(got[0], deep+":1:76: Nesting too deep: more than 64 levels") {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
	js := write(t, dir, "deep.json", `{"a": `+strings.Repeat(`{"b": `, 100)+"1"+strings.Repeat("}", 101))
	if _, err := Load([]string{js}, env(nil)); err == nil || !strings.Contains(err.Error(), "Nesting too deep") {
		t.Fatalf("deep JSON: %v", err)
	}
	// 64 levels parse; brackets in strings, comments and heredocs do not
	// count.
	ok := okAuth + "pid_file = \"" + strings.Repeat("[", 100) + "\" # " + strings.Repeat("{", 100) + "\n" +
		"template {\n  destination = \"/tmp/x\"\n  contents = <<EOT\n" + strings.Repeat("{{[", 100) + "\nEOT\n}\n" +
		"/* " + strings.Repeat("[", 100) + " */\n"
	if _, err := Load([]string{write(t, dir, "ok.hcl", ok)}, env(nil)); err != nil {
		t.Fatalf("brackets in strings were counted: %v", err)
	}
	at64 := write(t, dir, "64.hcl", okAuth+"log_format = "+strings.Repeat("[", 64)+strings.Repeat("]", 64)+"\n")
	if _, err := Load([]string{at64}, env(nil)); err == nil || strings.Contains(err.Error(), "Nesting too deep") {
		t.Fatalf("64 levels should reach the parser (and fail as a type error): %v", err)
	}
}

func TestLargeFileIsRefused(t *testing.T) {
	p := write(t, t.TempDir(), "big.hcl", "# "+strings.Repeat("x", MaxFileSize)+"\n")
	_, err := Load([]string{p}, env(nil))
	if got := problems(t, err); len(got) != 1 || !strings.HasPrefix(got[0], p+": File too large") || !strings.Contains(got[0], "4 MiB") {
		t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
	}
}

// A FIFO (or a device) is refused without blocking on it.
func TestNonRegularFileIsRefusedWithoutBlocking(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "cfg.hcl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Load([]string{fifo}, env(nil))
		done <- err
	}()
	select {
	case err := <-done:
		if got := problems(t, err); len(got) != 1 || !strings.Contains(got[0], "Not a regular file: a configuration file must be a regular file, not a named pipe (FIFO)") {
			t.Fatalf("problems:\n%s", strings.Join(got, "\n"))
		}
	case <-time.After(10 * time.Second):
		// Unblock the reader so the test can end.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Load blocked on a FIFO")
	}
	if _, err := Load([]string{"/dev/null"}, env(nil)); err == nil || !strings.Contains(err.Error(), "not a device") && !strings.Contains(err.Error(), "a device") {
		t.Fatalf("/dev/null: %v", err)
	}
}

// A file of garbage keys gets a bounded list of problems, not megabytes:
// errors where Vault Agent refuses unknown keys (a template), warnings
// elsewhere, each list capped on its own so that the warnings never hide
// an error.
func TestProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("template {\n")
	for i := range 3 * MaxProblems {
		fmt.Fprintf(&b, "key_%d = 1\n", i)
	}
	fmt.Fprintf(&b, "%s = 1\n}\n", strings.Repeat("k", 100_000))
	for i := range 2 * MaxProblems {
		fmt.Fprintf(&b, "top_%d = 1\n", i)
	}
	_, err := Load([]string{write(t, t.TempDir(), "cfg.hcl", b.String())}, env(nil))
	got := problems(t, err)
	if len(got) != MaxProblems+1 || !strings.Contains(got[len(got)-1], "Too many problems: 1003 more problems were not listed") {
		t.Fatalf("%d problems, last: %s", len(got), got[len(got)-1])
	}
	var ce *Error
	errors.As(err, &ce)
	if w := ce.Warnings(); len(w) != MaxProblems+1 || !strings.Contains(w[len(w)-1], "Too many warnings: 500 more warnings were not listed") {
		t.Fatalf("%d warnings, last: %s", len(w), w[len(w)-1])
	}
}
