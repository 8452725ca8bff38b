package vaulttest

import (
	"github.com/rotorproject/rotor/test/harness/proc"

	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

const (
	readyTimeout = 30 * time.Second // from exec to sys/health answering 200
	stopTimeout  = 10 * time.Second // SIGTERM grace before SIGKILL
	caFileName   = "vault-ca.pem"   // same name as Vault's -dev-tls mode
)

// Server is a Vault dev server running as a child process of the test.
//
// Dev mode keeps everything in memory: Stop and Restart lose all mounts,
// policies, roles, tokens and secrets. Only the address, the root token and
// (with WithTLS) the CA stay the same.
type Server struct {
	// Addr is the base URL, e.g. "http://127.0.0.1:41234", or https with WithTLS.
	Addr string
	// RootToken is the dev root token (random per server, kept across Restart).
	RootToken string
	// CACert is the PEM file of the CA that signed the server certificate.
	// Empty without WithTLS.
	CACert string
	// LogFile collects Vault's stdout and stderr across restarts. Its tail is
	// logged when the test fails.
	LogFile string

	bin   string
	dir   string
	args  []string
	env   []string
	audit bool // keep a raw audit log for Leaks

	mu   sync.Mutex // guards proc; Stop may run from any goroutine
	proc *proc.Process
}

// Option changes how Start runs Vault.
type Option func(*options)

type options struct {
	tls     bool
	noAudit bool
}

// WithoutAudit leaves out the raw audit log that Leaks reads: for
// benchmarks, where auditing every request would slow Vault down.
func WithoutAudit() Option { return func(o *options) { o.noAudit = true } }

// WithTLS serves the API over HTTPS with a certificate for 127.0.0.1 and
// localhost. The CA is written to Server.CACert (vault-ca.pem, as with
// -dev-tls). Vault asks for, but does not require, client certificates, so
// cert auth works only on a TLS server.
//
// Unlike -dev-tls, which makes a new CA on every start, the CA is generated
// once and reused by Restart, so clients configured before a restart keep
// trusting the server. Vault's own dev listener then runs as plain HTTP on a
// second, unused loopback port.
func WithTLS() Option { return func(o *options) { o.tls = true } }

// Start runs `vault server -dev` on a free 127.0.0.1 port with a random root
// token and waits (up to 30s) until sys/health reports it active. The server
// is stopped, and its process group killed and reaped, when the test ends.
// It skips the test when there is no Vault binary (see VaultBin).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bin := VaultBin(t)
	dir := t.TempDir()
	ports, err := freePorts(2)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	s := &Server{
		RootToken: "vaulttest-root-" + rand.Text(),
		LogFile:   filepath.Join(dir, "vault.log"),
		bin:       bin,
		dir:       dir,
		env:       vaultEnv(dir),
		audit:     !o.noAudit,
	}
	// Dev mode binds a cluster listener on the API port + 1, which may belong
	// to someone else; nothing here needs clustering, so turn it off.
	hcl := "disable_clustering = true\n"
	devListen := host
	if o.tls {
		certDir := t.TempDir()
		if err := writeServerTLS(certDir); err != nil {
			t.Fatalf("vaulttest: server TLS: %v", err)
		}
		s.Addr = "https://" + host
		s.CACert = filepath.Join(certDir, caFileName)
		devListen = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		hcl += fmt.Sprintf("api_addr = %q\nlistener \"tcp\" {\n  address = %q\n  tls_cert_file = %q\n  tls_key_file = %q\n}\n",
			s.Addr, host, filepath.Join(certDir, "vault-cert.pem"), filepath.Join(certDir, "vault-key.pem"))
	} else {
		s.Addr = "http://" + host
	}
	cfg := filepath.Join(dir, "vaulttest.hcl")
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	s.args = []string{
		"server", "-dev",
		"-dev-root-token-id=" + s.RootToken,
		"-dev-listen-address=" + devListen,
		"-dev-no-store-token",
		"-config=" + cfg,
		// Debug level puts auth plugins' reasons for denying a login in the log.
		"-log-level=debug",
	}

	// Cleanups run last-registered first: stop Vault, then print the log
	// tail (now complete), then remove the temp dirs.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vaulttest: tail of %s:\n%s", s.LogFile, proc.Tail(s.LogFile, 60))
		}
	})
	t.Cleanup(s.Stop)
	if err := s.launch(); err != nil {
		t.Fatalf("vaulttest: start vault: %v", err)
	}
	return s
}

// Stop terminates the server (SIGTERM to its process group, SIGKILL after
// 10s) and waits for it to exit. Stopping a stopped server does nothing.
// Safe to call from any goroutine.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		stop(p)
	}
}

// Pid is the server's process id (0 when stopped), for benchmarks that
// measure what Vault itself spends.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}

// Restart stops the server (if running) and starts a fresh one on the same
// address with the same root token and CA. Dev mode state is in memory, so
// everything configured before is gone: setup, when not nil, is called with
// a root client to configure the new server again.
//
// The port is released while Vault is down; in the unlikely case another
// process takes it meanwhile, Restart fails the test.
func (s *Server) Restart(t testing.TB, setup func(*api.Client)) {
	t.Helper()
	s.Stop()
	if err := s.launch(); err != nil {
		t.Fatalf("vaulttest: restart vault: %v", err)
	}
	if setup != nil {
		setup(s.Client(t))
	}
}

// Client returns a client for the server authenticated with the root token.
func (s *Server) Client(t testing.TB) *api.Client {
	t.Helper()
	return s.NewClient(t, s.RootToken)
}

// NewClient returns a client for the server using token (none when empty).
// It trusts Server.CACert on a TLS server. VAULT_* environment settings of
// the test process that would point it elsewhere are overridden.
func (s *Server) NewClient(t testing.TB, token string) *api.Client {
	t.Helper()
	return s.newClient(t, token, &api.TLSConfig{CACert: s.CACert})
}

// NewCertClient returns a client without a token that presents cert as its
// TLS client certificate, for logging in with cert auth. The server must
// have been started WithTLS.
func (s *Server) NewCertClient(t testing.TB, cert CertPair) *api.Client {
	t.Helper()
	if s.CACert == "" {
		t.Fatalf("vaulttest: NewCertClient needs a server started WithTLS")
	}
	return s.newClient(t, "", &api.TLSConfig{CACert: s.CACert, ClientCert: cert.CertFile, ClientKey: cert.KeyFile})
}

func (s *Server) newClient(t testing.TB, token string, tlsCfg *api.TLSConfig) *api.Client {
	t.Helper()
	return newAPIClient(t, s.Addr, s.CACert, token, tlsCfg)
}

// newAPIClient returns a client for the server at addr using token (none
// when empty), configured with tlsCfg when caCert is set (a TLS server).
func newAPIClient(t testing.TB, addr, caCert, token string, tlsCfg *api.TLSConfig) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		t.Fatalf("vaulttest: client config: %v", cfg.Error)
	}
	cfg.Address = addr
	if caCert != "" {
		if err := cfg.ConfigureTLS(tlsCfg); err != nil {
			t.Fatalf("vaulttest: client TLS: %v", err)
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatalf("vaulttest: client: %v", err)
	}
	c.ClearNamespace() // in case VAULT_NAMESPACE is set
	if token == "" {
		c.ClearToken()
	} else {
		c.SetToken(token)
	}
	return c
}

// launch starts the vault process and waits until it is ready.
func (s *Server) launch() error {
	p, err := spawn(s.bin, s.args, s.dir, s.env, s.LogFile, s.Addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		s.Stop()
		return err
	}
	if !s.audit {
		return nil
	}
	if err := s.enableAudit(); err != nil {
		s.Stop()
		return fmt.Errorf("raw audit log: %w", err)
	}
	return nil
}

// waitReady polls sys/health until it answers 200 (initialized, unsealed,
// active), the process exits, or readyTimeout passes.
func (s *Server) waitReady(p *proc.Process) error {
	h, err := newHealth(s.Addr, s.CACert)
	if err != nil {
		return err
	}
	defer h.close()
	return h.wait(p, readyTimeout, s.LogFile, func(code int) bool { return code == http.StatusOK })
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// All listeners are held until every port is chosen so none repeats.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// vaultEnv is the test's environment without VAULT_* variables (which would
// change the server's addresses or behaviour) and with HOME set to home, so
// Vault reads and writes nothing in the real home directory.
func vaultEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VAULT_") || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}
