package mysqltest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// Database is the database Start creates, as in the seed article's
// connection_url; ConnURLTemplate points at it.
const Database = "orders"

// EnvBinDir names a directory holding mariadbd, mariadb-install-db and
// mariadb. It wins over every other location.
const EnvBinDir = "ROTOR_MARIADB_BINDIR"

const (
	readyTimeout = 60 * time.Second // from exec to the first successful query
	stopTimeout  = 15 * time.Second // graceful shutdown before SIGKILL
)

// MySQL is a MariaDB server running as a child process of the test.
type MySQL struct {
	// Host is the address the server listens on: always "127.0.0.1".
	Host string
	// Port is the server's TCP port, chosen at random.
	Port int
	// AdminUser is the account Vault's connection uses: "vault_admin"@"%",
	// with every privilege and the GRANT option (the seed's vault_admin).
	AdminUser string
	// AdminPassword is AdminUser's random password.
	AdminPassword string
	// LogFile is the server's error log. Its tail is logged when the test
	// fails. It lives in the temporary directory removed at cleanup.
	LogFile string

	bins   binaries
	dir    string        // temporary directory: data/, the socket, the log
	server *proc.Process // mariadbd, once launched
	once   sync.Once     // guards stop
}

// binaries are the programs the harness runs.
type binaries struct{ server, install, client string }

// Start initialises a data directory in a fresh temporary directory, runs
// mariadbd on a free 127.0.0.1 port, creates the database "orders" and
// the admin account, and waits until the admin can log in over TCP. The
// server is stopped (SIGTERM, SIGKILL after 15s), reaped and its directory
// removed when the test ends. It skips the test when MariaDB is not
// installed (see Binaries).
func Start(t testing.TB) *MySQL {
	t.Helper()
	bins := findBinaries(t)
	// Not t.TempDir: a Unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "mysqltest-")
	if err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	// Cleanups run last-registered first: stop the server, log the tail of
	// its log if the test failed, then remove the directory.
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &MySQL{
		Host:          "127.0.0.1",
		AdminUser:     "vault_admin",
		AdminPassword: rand.Text(),
		LogFile:       filepath.Join(dir, "mariadb.log"),
		bins:          bins,
		dir:           dir,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mysqltest: tail of %s:\n%s", m.LogFile, proc.Tail(m.LogFile, 40))
		}
	})
	if err := m.installDB(); err != nil {
		t.Fatalf("mysqltest: mariadb-install-db: %v", err)
	}
	if m.Port, err = proc.FreePort(); err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	t.Cleanup(m.stop)
	if err := m.launch(); err != nil {
		t.Fatalf("mysqltest: start mariadbd: %v", err)
	}
	if _, err := m.rootSQL("", "CREATE DATABASE "+Database); err != nil {
		t.Fatalf("mysqltest: %v", err)
	}
	m.Exec(t, "CREATE USER "+account(m.AdminUser)+" IDENTIFIED BY "+quoteLiteral(m.AdminPassword)+";\n"+
		"GRANT ALL PRIVILEGES ON *.* TO "+account(m.AdminUser)+" WITH GRANT OPTION;")
	if err := m.CanLogin(m.AdminUser, m.AdminPassword); err != nil {
		t.Fatalf("mysqltest: admin login over TCP: %v", err)
	}
	return m
}

// findBinaries returns the programs from $ROTOR_MARIADB_BINDIR, else
// Debian's places, else $PATH. When one is missing the test is skipped,
// or fails if $ROTOR_REQUIRE_INTEGRATION is "1".
func findBinaries(t testing.TB) binaries {
	t.Helper()
	if d := os.Getenv(EnvBinDir); d != "" {
		b := binaries{filepath.Join(d, "mariadbd"), filepath.Join(d, "mariadb-install-db"), filepath.Join(d, "mariadb")}
		for _, p := range []string{b.server, b.install, b.client} {
			if !proc.IsExecutable(p) {
				t.Fatalf("mysqltest: %s=%q has no executable %s", EnvBinDir, d, filepath.Base(p))
			}
		}
		return b
	}
	find := func(debian, name string) string {
		if proc.IsExecutable(debian) {
			return debian
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		proc.Missing(t, "mysqltest: "+name+" not found: install the mariadb-server and mariadb-client packages or set "+EnvBinDir)
		return ""
	}
	return binaries{
		server:  find("/usr/sbin/mariadbd", "mariadbd"),
		install: find("/usr/bin/mariadb-install-db", "mariadb-install-db"),
		client:  find("/usr/bin/mariadb", "mariadb"),
	}
}

// userArgs are the arguments that let the server programs run as root.
func userArgs() []string {
	if os.Geteuid() == 0 {
		// mariadbd refuses root unless told; the data directory is the
		// test's, so no other account needs to own it.
		return []string{"--user=root"}
	}
	return nil
}

// command returns a command for a server program in its own process group.
func (m *MySQL) command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = m.dir
	cmd.Env = cleanEnv()
	// Own process group; on Linux, killed with the test binary if that
	// dies without cleanups.
	cmd.SysProcAttr = proc.Attr()
	return cmd
}

func (m *MySQL) dataDir() string { return filepath.Join(m.dir, "data") }
func (m *MySQL) socket() string  { return filepath.Join(m.dir, "mysqld.sock") }

// installDB creates the system tables in dir/data. root@localhost gets
// no password ("normal" authentication): it can only come through the
// socket, which lives in the test's own 0700 directory.
func (m *MySQL) installDB() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{"--no-defaults",
		"--datadir=" + m.dataDir(),
		"--auth-root-authentication-method=normal",
		"--skip-test-db"}, userArgs()...)
	if out, err := m.command(ctx, m.bins.install, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// launch runs mariadbd and waits until root can query it.
func (m *MySQL) launch() error {
	args := append([]string{"--no-defaults",
		"--datadir=" + m.dataDir(),
		"--port=" + strconv.Itoa(m.Port),
		"--bind-address=" + m.Host,
		"--socket=" + m.socket(),
		"--pid-file=" + filepath.Join(m.dir, "mariadbd.pid"),
		"--log-error=" + m.LogFile,
		// Accounts are 'user'@'%': no DNS look-ups for 127.0.0.1.
		"--skip-name-resolve",
		// Speed over durability: the data dies with the test anyway.
		"--innodb-buffer-pool-size=16M",
		"--innodb-flush-log-at-trx-commit=0",
		"--skip-innodb-doublewrite",
		// The general and slow query logs (off by default) would hold
		// CREATE USER ... IDENTIFIED BY statements; keep them off.
		"--general-log=0", "--slow-query-log=0"}, userArgs()...)
	cmd := m.command(context.Background(), m.bins.server, args...)
	var err error
	if m.server, err = proc.Start(cmd); err != nil {
		return err
	}
	return m.waitReady()
}

// waitReady runs SELECT 1 as root over the socket until it succeeds, the
// server exits, or readyTimeout passes.
func (m *MySQL) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := m.rootSQL("", "SELECT 1")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", readyTimeout, err)
		}
		select {
		case <-m.server.Done():
			return fmt.Errorf("mariadbd exited before becoming ready: %v (see %s)", m.server.Err(), m.LogFile)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks mariadbd for a normal shutdown (SIGTERM), kills its process
// group after stopTimeout, and reaps it.
func (m *MySQL) stop() {
	m.once.Do(func() {
		if m.server != nil {
			m.server.Stop(syscall.SIGTERM, stopTimeout)
		}
	})
}

// Pid returns mariadbd's process id (0 before it started).
func (m *MySQL) Pid() int {
	if m.server == nil {
		return 0
	}
	return m.server.Pid()
}

// cleanEnv is the test's environment without MYSQL_* variables (which
// would change what the programs do) and with a locale that always exists.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MYSQL") || strings.HasPrefix(k, "MARIADB") || k == "LC_ALL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}
