// Package nginxtest runs a real nginx serving HTTPS on a loopback port, so
// integration tests can check that a certificate rotor wrote and the reload
// command it ran are what nginx actually serves.
//
// Everything here is test-only: helpers take a testing.TB, fail the test on
// error and register their own cleanup. nginx runs in the foreground
// (daemon off) in its own process group, with every file it writes (pid,
// logs, temp directories) inside a t.TempDir(); the group is stopped and
// reaped when the test ends.
//
// The binary is $ROTOR_NGINX_BIN, else /usr/sbin/nginx (Debian's nginx
// package), else nginx on $PATH. Tests skip when none exists, unless
// ROTOR_REQUIRE_INTEGRATION=1 is set (as CI does).
package nginxtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"net"
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

// EnvNginxBin names an explicit nginx binary; it wins over every other
// location.
const EnvNginxBin = "ROTOR_NGINX_BIN"

const (
	readyTimeout = 10 * time.Second // from exec to the first TLS handshake
	stopTimeout  = 10 * time.Second // SIGTERM grace before SIGKILL
	dialTimeout  = 2 * time.Second
)

// Nginx is an nginx master process (with one worker) running as a child of
// the test and serving "ok" over HTTPS.
type Nginx struct {
	// Addr is the HTTPS listener's host:port, e.g. "127.0.0.1:41234".
	Addr string
	// Prefix is nginx's prefix directory (-p): it holds the configuration,
	// the pid file, the logs and the temp directories.
	Prefix string
	// ConfFile is the configuration file (-c).
	ConfFile string
	// ErrorLog is nginx's error log. Its tail is logged when the test
	// fails.
	ErrorLog string
	// CertFile and KeyFile are the PEM files nginx loads at start and on
	// each reload.
	CertFile, KeyFile string

	bin    string
	master *proc.Process // once launched
	once   sync.Once     // guards stop
}

// Start runs nginx on a free 127.0.0.1 port serving HTTPS with the
// certificate and key in certFile and keyFile, and waits (up to 10s) until
// a TLS handshake succeeds. nginx reads the files again on each reload:
// replace them, then run ReloadCommand or call Reload. It is stopped and
// reaped when the test ends. It skips the test when nginx is missing (see
// Bin).
func Start(t testing.TB, certFile, keyFile string) *Nginx {
	t.Helper()
	bin := Bin(t)
	prefix := t.TempDir()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	n := &Nginx{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Prefix:   prefix,
		ConfFile: filepath.Join(prefix, "nginx.conf"),
		ErrorLog: filepath.Join(prefix, "error.log"),
		CertFile: certFile,
		KeyFile:  keyFile,
		bin:      bin,
	}
	if err := os.WriteFile(n.ConfFile, []byte(n.config()), 0o600); err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	// Cleanups run last-registered first: stop nginx, then log the tail
	// of its error log (now complete).
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginxtest: tail of %s:\n%s", n.ErrorLog, proc.Tail(n.ErrorLog, 40))
		}
	})
	t.Cleanup(n.stop)
	if err := n.launch(); err != nil {
		t.Fatalf("nginxtest: start nginx: %v", err)
	}
	return n
}

// Bin returns the nginx binary to test with: $ROTOR_NGINX_BIN, else
// /usr/sbin/nginx, else nginx on $PATH. When none exists the test is
// skipped, or fails if $ROTOR_REQUIRE_INTEGRATION is "1".
func Bin(t testing.TB) string {
	t.Helper()
	return proc.Find(t, proc.Lookup{
		Env:     EnvNginxBin,
		Paths:   []string{"/usr/sbin/nginx"},
		Name:    "nginx",
		Missing: "nginxtest: nginx not found: install the nginx package or set " + EnvNginxBin,
	})
}

// config returns nginx.conf: everything nginx writes goes under Prefix.
func (n *Nginx) config() string {
	var b strings.Builder
	p := func(name string) string { return quote(filepath.Join(n.Prefix, name)) }
	// Workers would run as "nobody" under a root master; keep them root so
	// they can use whatever the test created.
	if os.Geteuid() == 0 {
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes 1;
pid %s;
error_log %s notice;
events { worker_connections 64; }
http {
	access_log %s;
	client_body_temp_path %s;
	proxy_temp_path %s;
	fastcgi_temp_path %s;
	uwsgi_temp_path %s;
	scgi_temp_path %s;
	server {
		listen %s ssl;
		ssl_certificate %s;
		ssl_certificate_key %s;
		location / {
			default_type text/plain;
			return 200 "ok\n";
		}
	}
}
`, p("nginx.pid"), quote(n.ErrorLog), p("access.log"),
		p("client_body"), p("proxy"), p("fastcgi"), p("uwsgi"), p("scgi"),
		n.Addr, quote(n.CertFile), quote(n.KeyFile))
	return b.String()
}

// quote makes s a double-quoted nginx configuration string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// args are the flags that make an nginx command act on this instance. -e
// sets the error log used before the configuration is read, which would
// otherwise be /var/log/nginx/error.log.
func (n *Nginx) args() []string {
	return []string{"-p", n.Prefix + "/", "-c", n.ConfFile, "-e", n.ErrorLog}
}

// ReloadCommand returns the argv that reloads this nginx
// ("nginx -p PREFIX -c CONF -e LOG -s reload"), for use as a reload command
// in a rotor configuration.
//
// The command first parses the whole configuration, loading the
// certificate and key: if they are unusable it prints the error and exits
// 1 without signalling anything. Otherwise it sends SIGHUP to the master
// and exits 0 at once; nginx then loads the files again and replaces its
// worker, and connections made meanwhile may still get the old certificate
// (see WaitServedSerial). If the master itself cannot load the files, it
// logs the error to ErrorLog and keeps serving the old ones.
func (n *Nginx) ReloadCommand() []string {
	return append(append([]string{n.bin}, n.args()...), "-s", "reload")
}

// Reload runs ReloadCommand and fails the test if it exits non-zero.
func (n *Nginx) Reload(t testing.TB) {
	t.Helper()
	argv := n.ReloadCommand()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("nginxtest: reload: %v\n%s", err, out)
	}
}

// ServedCert makes a TLS handshake with Addr (without verifying the chain)
// and returns the leaf certificate nginx presented.
func (n *Nginx) ServedCert(t testing.TB) *x509.Certificate {
	t.Helper()
	c, err := n.servedCert()
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	return c
}

// WaitServedSerial polls ServedCert every 50ms until nginx presents a
// certificate with the given serial number in five handshakes in a row,
// and fails the test with the last serial seen if that does not happen
// within timeout.
func (n *Nginx) WaitServedSerial(t testing.TB, serial *big.Int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	// Right after a reload, an old worker that has not yet closed its
	// listening socket may still accept a connection and present the
	// previous certificate: the new one counts as served once it has
	// answered several handshakes in a row.
	const inARow = 5
	seen := 0
	for {
		c, err := n.servedCert()
		if err == nil && c.SerialNumber.Cmp(serial) == 0 {
			if seen++; seen == inARow {
				return
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		seen = 0
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("serving serial %s", c.SerialNumber)
			}
			t.Fatalf("nginxtest: serial %s not served within %v: %v", serial, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *Nginx) servedCert() (*x509.Certificate, error) {
	d := tls.Dialer{
		NetDialer: &net.Dialer{Timeout: dialTimeout},
		// Only the presented certificate matters here, not whether it is
		// trusted; no session cache, so every handshake is a full one.
		Config: &tls.Config{InsecureSkipVerify: true},
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", n.Addr)
	if err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", n.Addr, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("no certificate presented")
	}
	return certs[0], nil
}

// launch starts the master and waits until a handshake succeeds.
func (n *Nginx) launch() error {
	var out bytes.Buffer // messages printed before the error log is open
	cmd := exec.Command(n.bin, n.args()...)
	cmd.Dir = n.Prefix
	cmd.Stdout = &out
	cmd.Stderr = &out
	// Own process group, so stop can reach the worker too; on Linux,
	// killed with the test binary if that dies without cleanups.
	master, err := proc.Start(cmd)
	if err != nil {
		return err
	}
	n.master = master
	deadline := time.Now().Add(readyTimeout)
	for {
		_, err := n.servedCert()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", readyTimeout, err)
		}
		select {
		case <-n.master.Done():
			// Safe to read out: Wait has returned, so its copy is done.
			return fmt.Errorf("nginx exited before becoming ready: %v\n%s", n.master.Err(), out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop asks the master for a fast shutdown (SIGTERM; it stops its
// workers), kills the process group after stopTimeout, and reaps the master.
func (n *Nginx) stop() {
	n.once.Do(func() {
		if n.master != nil {
			n.master.Stop(syscall.SIGTERM, stopTimeout)
		}
	})
}
