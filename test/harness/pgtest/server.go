package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// Database is the database Start creates; ConnURLTemplate points at it.
const Database = "myapp"

// EnvBinDir names a directory holding initdb, postgres and psql. It wins
// over every other location.
const EnvBinDir = "ROTOR_PG_BINDIR"

const (
	readyTimeout = 30 * time.Second // from exec to the first successful query
	stopTimeout  = 10 * time.Second // fast-shutdown grace before SIGKILL
	serverUser   = "postgres"       // system user the server runs as under root
)

// Postgres is a PostgreSQL server running as a child process of the test.
type Postgres struct {
	// Host is the address the server listens on: always "127.0.0.1".
	Host string
	// Port is the server's TCP port, chosen at random.
	Port int
	// AdminUser is the superuser's name: "postgres".
	AdminUser string
	// AdminPassword is the superuser's random password. TCP connections
	// must present it (scram-sha-256).
	AdminPassword string
	// LogFile collects the server's output. Its tail is logged when the
	// test fails. It lives in the temporary directory removed at cleanup.
	LogFile string

	binDir string
	dir    string // temporary directory: data/, the socket, the log
	env    []string
	cred   *credential // nil unless the test runs as root

	server *proc.Process // the postmaster, once launched
	once   sync.Once     // guards stop
}

// Start initialises a cluster in a fresh temporary directory, runs the
// server on a free 127.0.0.1 port with a random superuser password, creates
// the database "myapp" and waits until the superuser can query it. The
// server is stopped (fast shutdown, SIGKILL after 10s), reaped and its
// directory removed when the test ends. It skips the test when PostgreSQL is
// not installed (see BinDir).
func Start(t testing.TB) *Postgres {
	t.Helper()
	binDir := BinDir(t)
	cred, err := serverCredential()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Not t.TempDir: its parents are 0700 and owned by root, so the
	// postgres user could not reach a directory inside it.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Cleanups run last-registered first: stop the server, log the tail of
	// its log (now complete) if the test failed, then remove the directory.
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Postgres{
		Host:          "127.0.0.1",
		AdminUser:     "postgres",
		AdminPassword: rand.Text(),
		LogFile:       filepath.Join(dir, "postgres.log"),
		binDir:        binDir,
		dir:           dir,
		env:           serverEnv(dir),
		cred:          cred,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: tail of %s:\n%s", p.LogFile, proc.Tail(p.LogFile, 40))
		}
	})
	if err := p.chown(dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := p.initdb(); err != nil {
		t.Fatalf("pgtest: initdb: %v", err)
	}
	if p.Port, err = proc.FreePort(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(p.stop)
	if err := p.launch(); err != nil {
		t.Fatalf("pgtest: start postgres: %v", err)
	}
	p.execIn(t, "postgres", "CREATE DATABASE "+Database)
	return p
}

// BinDir returns the directory of the PostgreSQL server binaries: the
// value of $ROTOR_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin,
// else the directory of initdb on $PATH. When none exists the test is
// skipped, or fails if $ROTOR_REQUIRE_INTEGRATION is "1".
func BinDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(EnvBinDir); d != "" {
		if !hasBinaries(d) {
			t.Fatalf("pgtest: %s=%q has no initdb, postgres and psql", EnvBinDir, d)
		}
		return d
	}
	if d := newestDebianBinDir("/usr/lib/postgresql"); d != "" {
		return d
	}
	if p, err := exec.LookPath("initdb"); err == nil && hasBinaries(filepath.Dir(p)) {
		return filepath.Dir(p)
	}
	proc.Missing(t, "pgtest: PostgreSQL not found: install the postgresql package or set "+EnvBinDir)
	return ""
}

// newestDebianBinDir returns root/<version>/bin for the highest numeric
// version that has the binaries, or "" if there is none.
func newestDebianBinDir(root string) string {
	entries, err := os.ReadDir(root)
	if err != nil {
		return ""
	}
	var versions []float64
	for _, e := range entries {
		v, err := strconv.ParseFloat(e.Name(), 64) // "15", or "9.6" before v10
		if err == nil && hasBinaries(filepath.Join(root, e.Name(), "bin")) {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return ""
	}
	return filepath.Join(root, strconv.FormatFloat(slices.Max(versions), 'f', -1, 64), "bin")
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres", "psql"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// chown gives path to the server's user, when that is not the test's.
func (p *Postgres) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	return os.Chown(path, int(p.cred.Uid), int(p.cred.Gid))
}

// command returns a command for the server binary name, run as the server
// user in its own process group.
func (p *Postgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, name), args...)
	cmd.Dir = p.dir
	cmd.Env = p.env
	// Own process group; on Linux, killed with the test binary if that
	// dies without cleanups.
	cmd.SysProcAttr = proc.Attr()
	setCredential(cmd.SysProcAttr, p.cred)
	return cmd
}

// initdb creates the cluster in dir/data with the superuser's password and
// writes a pg_hba.conf that trusts the Unix socket and wants passwords over
// TCP.
func (p *Postgres) initdb() error {
	pwFile := filepath.Join(p.dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(p.AdminPassword+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwFile)
	if err := p.chown(pwFile); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := p.command(ctx, "initdb",
		"--pgdata="+p.dataDir(),
		"--username="+p.AdminUser,
		"--pwfile="+pwFile,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"--encoding=UTF8", "--locale=C",
		"--no-sync") // a throwaway cluster need not survive a power cut
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	hba := "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	return os.WriteFile(filepath.Join(p.dataDir(), "pg_hba.conf"), []byte(hba), 0o600)
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }

// launch runs the postmaster in the foreground and waits until it answers.
func (p *Postgres) launch() error {
	logf, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := p.command(context.Background(), "postgres",
		"-D", p.dataDir(),
		"-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses="+p.Host,
		"-c", "unix_socket_directories="+p.dir,
		// Speed over durability: the data dies with the test anyway.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// Failed statements may hold passwords (CREATE ROLE ... PASSWORD);
		// keep them out of the log, which is printed when a test fails.
		"-c", "log_min_error_statement=panic",
	)
	cmd.Stdout = logf
	cmd.Stderr = logf
	p.server, err = proc.Start(cmd)
	logf.Close() // the child holds its own descriptor
	if err != nil {
		return err
	}
	return p.waitReady()
}

// waitReady runs SELECT 1 as the superuser over TCP until it succeeds, the
// server exits, or readyTimeout passes.
func (p *Postgres) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := p.psql(p.AdminUser, p.AdminPassword, "postgres", "SELECT 1")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", readyTimeout, err)
		}
		select {
		case <-p.server.Done():
			return fmt.Errorf("postgres exited before becoming ready: %v (see %s)", p.server.Err(), p.LogFile)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the postmaster for a fast shutdown (SIGINT: roll back open
// transactions, end sessions, checkpoint), kills its process group after
// stopTimeout, and reaps it. Backends run in their own sessions and exit
// by themselves once the postmaster is gone.
func (p *Postgres) stop() {
	p.once.Do(func() {
		if p.server != nil {
			// Only the postmaster: it stops its own children.
			p.server.Stop(syscall.SIGINT, stopTimeout)
		}
	})
}

// serverEnv is the test's environment without PG* variables (which would
// change what the binaries do) and with HOME set to home and a locale that
// always exists.
func serverEnv(home string) []string {
	env := cleanEnv()
	return append(env, "HOME="+home, "LC_ALL=C")
}

// cleanEnv is the test's environment without PG*, HOME and LC_ALL.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || k == "HOME" || k == "LC_ALL" {
			continue
		}
		env = append(env, kv)
	}
	return env
}
