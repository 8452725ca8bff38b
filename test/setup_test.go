// Package test checks test/setup.sh, the set-up `make test` and .ci/run
// run first. (test/vault and test/monitoring are modules of their own.)
package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// setup runs setup.sh with env added to a PATH of only the given tools
// (linked from the real PATH), as uid 65534 when asNobody, and returns its
// output and exit code.
func setup(t *testing.T, tools []string, asNobody bool, env []string, args ...string) (string, int) {
	t.Helper()
	// Not t.TempDir: its parent is 0700, and nobody must read the links.
	bin, err := os.MkdirTemp("", "rotor-setup-path-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	os.Chmod(bin, 0o755)
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s not found: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	script, err := filepath.Abs("setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := "" // the test's: the checkout's test/
	if asNobody {
		// nobody may not enter the checkout (a clone under /root, a 0700
		// home): it runs a copy, from a directory it can read.
		script, dir = copyForNobody(t, script, bin)
	}
	argv := append([]string{script}, args...)
	if asNobody {
		argv = append([]string{"runuser", "-u", "nobody", "--", "env", "PATH=" + bin}, append(env, argv...)...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin, "HOME=" + t.TempDir()}, env...)
	if asNobody {
		cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH")) // to find runuser
	}
	start := time.Now()
	out, _ := cmd.CombinedOutput()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("setup.sh took %v: it must stop at once", d)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// copyForNobody copies script into a new world-readable temporary
// directory and returns the copy's path and that directory. It skips t
// when nobody still cannot reach the copy or the tools' directory bin
// (TMPDIR is itself private): the unprivileged run cannot apply there.
func copyForNobody(t *testing.T, script, bin string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "rotor-setup-script-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, "setup.sh")
	if err := os.WriteFile(script, b, 0o755); err != nil {
		t.Fatal(err)
	}
	probe := exec.Command("runuser", "-u", "nobody", "--", "/bin/sh", "-c", `test -r "$1" && test -x "$1" && test -x "$2"`, "sh", script, bin)
	probe.Dir = dir
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("nobody cannot reach %s or %s (is TMPDIR=%s private?), so setup.sh cannot run as nobody here: %v %s",
			script, bin, os.TempDir(), err, out)
	}
	return script, dir
}

// What the script itself uses; the tests' tools are added per case.
var base = []string{"bash", "env", "go", "dirname", "ls", "sort", "id", "apt-get", "tail"}

// A machine without PostgreSQL, nginx, curl, openssl, python3 and make
// (as the harness looks for them: the environment variables point
// nowhere, and nothing is on PATH) is told what is missing. As root the
// script installs it (here: --dry-run prints the apt-get line).
func TestSetupInstallsWhatIsMissing(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("installing is tested as root (CI); TestSetupStopsWithTheCommand covers other users")
	}
	env := []string{"ROTOR_PG_BINDIR=/nonexistent", "ROTOR_NGINX_BIN=/nonexistent/nginx", "ROTOR_BUSYBOX=/nonexistent/busybox", "ROTOR_MARIADB_BINDIR=/nonexistent"}
	out, code := setup(t, base, false, env, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"postgresql: no initdb, postgres and psql",
		"nginx: not at $ROTOR_NGINX_BIN",
		"curl: not on PATH", "openssl: not on PATH", "python3: not on PATH", "make: not on PATH",
		"busybox-static: no busybox at $ROTOR_BUSYBOX",
		"mariadb-server: no mariadbd, mariadb-install-db and mariadb",
		"would run: apt-get install -y --no-install-recommends postgresql nginx curl openssl python3 make busybox-static mariadb-server\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A user who cannot install gets the one command to run, at once, and a
// failure.
func TestSetupStopsWithTheCommand(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run the script as an unprivileged user without sudo")
	}
	out, code := setup(t, append(base, "curl", "openssl", "python3", "make"), true, []string{"ROTOR_SETUP_PRETEND_MISSING=nginx"})
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	// (Tools under root's home, such as a pyenv python3, are missing for
	// nobody too: only nginx is checked.)
	_, cmdline, _ := strings.Cut(out, "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ")
	if cmdline, _, _ = strings.Cut(cmdline, "\n"); !strings.Contains(" "+cmdline+" ", " nginx ") {
		t.Errorf("no command installing nginx:\n%s", out)
	}
}

// On this machine (make test ran the set-up) everything is there.
func TestSetupFindsEverythingHere(t *testing.T) {
	cmd := exec.Command("./setup.sh", "--dry-run")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "are installed") {
		t.Fatalf("setup.sh --dry-run: %v\n%s", err, out)
	}
}
