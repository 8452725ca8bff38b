package vaulttest

import (
	"github.com/rotorproject/rotor/test/harness/proc"

	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// Persistent is a Vault server that keeps its state on disk, running as a
// child process of the test. Unlike the dev Server, everything survives
// Stop, Kill and Restart: mounts, policies, roles, tokens and leases. Like
// a production server, it starts sealed: Start is followed by Unseal (or
// use Restart, which does both and waits).
//
// A standalone server (StartPersistent) uses the file storage backend;
// the nodes of a Cluster use integrated storage (Raft).
type Persistent struct {
	// Addr is the API's base URL, e.g. "http://127.0.0.1:41234", or https
	// with WithTLS. It stays the same across restarts.
	Addr string
	// ClusterAddr is the node's cluster listener, e.g.
	// "https://127.0.0.1:41235"; empty for a standalone server.
	ClusterAddr string
	// RootToken is the root token made by the initialisation.
	RootToken string
	// UnsealKey is the only unseal key (one share, threshold one).
	UnsealKey string
	// CACert is the PEM file of the CA of the server certificate; empty
	// without WithTLS.
	CACert string
	// LogFile collects Vault's output across restarts. Its tail is logged
	// when the test fails.
	LogFile string
	// DataDir holds the storage (file backend or Raft).
	DataDir string

	bin, dir string
	args     []string
	env      []string
	member   bool // a Cluster node: unsealed means standby or active

	mu   sync.Mutex // guards proc; Stop and Kill may run from any goroutine
	proc *proc.Process
}

// StartPersistent runs `vault server` with file storage in a temporary
// directory on a free 127.0.0.1 port, initialises it through the API (one
// key share, threshold one), unseals it, waits until it is active, and
// mounts KV v2 at secret/ as the dev server does, so the Setup helpers and
// pgtest.SetupVaultDatabase work on it unchanged. WithTLS serves the API
// over HTTPS as for Start. The server is stopped and reaped when the test
// ends; it skips the test when there is no Vault binary (see VaultBin).
//
// File storage rather than single-node Raft: it needs no cluster port, no
// leader election after each start (so the server is active as soon as
// it is unsealed), and nothing about the persistence under test differs.
func StartPersistent(t testing.TB, opts ...Option) *Persistent {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ports, err := freePorts(1)
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	host := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	s := newPersistent(t, "vault-file")
	listener := fmt.Sprintf("listener \"tcp\" {\n  address = %q\n  tls_disable = true\n}\n", host)
	s.Addr = "http://" + host
	if o.tls {
		certDir := t.TempDir()
		if err := writeServerTLS(certDir); err != nil {
			t.Fatalf("vaulttest: server TLS: %v", err)
		}
		s.Addr = "https://" + host
		s.CACert = filepath.Join(certDir, caFileName)
		listener = fmt.Sprintf("listener \"tcp\" {\n  address = %q\n  tls_cert_file = %q\n  tls_key_file = %q\n}\n",
			host, filepath.Join(certDir, "vault-cert.pem"), filepath.Join(certDir, "vault-key.pem"))
	}
	s.writeConfig(t, fmt.Sprintf("storage \"file\" {\n  path = %q\n}\n%s"+
		// Nothing here clusters, and the cluster port (API port + 1) may
		// belong to someone else.
		"disable_clustering = true\n", s.DataDir, listener))
	s.Start(t)
	keys := s.initialise(t)
	s.RootToken, s.UnsealKey = keys.RootToken, keys.Keys[0]
	s.Unseal(t)
	s.WaitActive(t, readyTimeout)
	EnableSecrets(t, s.Client(t), "secret", "kv", map[string]any{"version": 2})
	return s
}

// newPersistent prepares a server in a fresh temporary directory and
// registers its cleanups; it starts nothing.
func newPersistent(t testing.TB, name string) *Persistent {
	t.Helper()
	dir := t.TempDir()
	s := &Persistent{
		LogFile: filepath.Join(dir, name+".log"),
		DataDir: filepath.Join(dir, "data"),
		bin:     VaultBin(t),
		dir:     dir,
		env:     vaultEnv(dir),
	}
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	// Cleanups run last-registered first: stop Vault, then print the log
	// tail (now complete), then remove the temp dir.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("vaulttest: tail of %s:\n%s", s.LogFile, proc.Tail(s.LogFile, 60))
		}
	})
	t.Cleanup(s.Stop)
	return s
}

// writeConfig writes the server's configuration: hcl plus the settings
// every persistent server shares.
func (s *Persistent) writeConfig(t testing.TB, hcl string) {
	t.Helper()
	hcl += fmt.Sprintf("api_addr = %q\n", s.Addr) +
		// Tests run as root or not, in containers without IPC_LOCK.
		"disable_mlock = true\n" +
		// Debug level puts auth plugins' reasons for denying a login in the log.
		"log_level = \"debug\"\n"
	cfg := filepath.Join(s.dir, "vaulttest.hcl")
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	s.args = []string{"server", "-config=" + cfg}
}

// initialise runs sys/init on a fresh server.
func (s *Persistent) initialise(t testing.TB) *api.InitResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	res, err := s.NewClient(t, "").Sys().InitWithContext(ctx, &api.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		t.Fatalf("vaulttest: initialise %s: %v", s.Addr, err)
	}
	if res.RootToken == "" || len(res.Keys) != 1 {
		t.Fatalf("vaulttest: initialise %s: no root token or key in the answer", s.Addr)
	}
	return res
}

// Start runs the server again on the same address and storage and waits
// (up to 30s) until its API answers. It comes up sealed: call Unseal,
// then WaitActive. Starting a running server fails the test.
//
// The port is released while Vault is down; in the unlikely case another
// process takes it meanwhile, Start fails the test.
func (s *Persistent) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		t.Fatalf("vaulttest: start %s: already running", s.Addr)
	}
	p, err := spawn(s.bin, s.args, s.dir, s.env, s.LogFile, s.Addr)
	if err != nil {
		t.Fatalf("vaulttest: start vault: %v", err)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitHealth(readyTimeout, func(code int) bool { return code != 0 }); err != nil {
		s.Stop()
		t.Fatalf("vaulttest: start vault: %v", err)
	}
}

// Stop terminates the server (SIGTERM to its process group, SIGKILL after
// 10s) and waits for it to exit: a clean shutdown. Stopping a stopped
// server does nothing. Safe to call from any goroutine.
func (s *Persistent) Stop() {
	if p := s.take(); p != nil {
		stop(p)
	}
}

// Kill sends SIGKILL to the server's process group and waits for it to
// exit: a crash, with no chance to flush or step down. Safe to call from
// any goroutine.
func (s *Persistent) Kill() {
	if p := s.take(); p != nil {
		p.KillGroup()
	}
}

func (s *Persistent) take() *proc.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	s.proc = nil
	return p
}

// Running reports whether the server process is running (it may be
// sealed).
func (s *Persistent) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.proc.Exited()
}

// Restart stops the server if it runs (cleanly, as Stop), starts it
// again, unseals it and waits until it serves requests: active for a
// standalone server, active or standby for a cluster node.
func (s *Persistent) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.Start(t)
	s.Unseal(t)
	if s.member {
		s.WaitUnsealed(t, readyTimeout)
		s.WaitLeader(t, readyTimeout)
	} else {
		s.WaitActive(t, readyTimeout)
	}
}

// WaitLeader waits until the server knows the cluster's active node
// (sys/leader names it). A standby that does not yet know it answers
// requests with 500 "local node not active but active cluster node not
// found" instead of forwarding them.
func (s *Persistent) WaitLeader(t testing.TB, timeout time.Duration) {
	t.Helper()
	c := s.NewClient(t, "")
	Eventually(t, timeout, func() error {
		l, err := c.Sys().Leader()
		if err != nil {
			return err
		}
		if l.LeaderAddress == "" {
			return fmt.Errorf("%s does not know the active node yet", s.Addr)
		}
		return nil
	})
}

// Seal seals the server with the root token (sys/seal). Requests then
// fail with 503 until Unseal.
func (s *Persistent) Seal(t testing.TB) {
	t.Helper()
	if err := s.Client(t).Sys().Seal(); err != nil {
		t.Fatalf("vaulttest: seal %s: %v", s.Addr, err)
	}
	s.WaitSealed(t, readyTimeout)
}

// Unseal submits the unseal key. It does not wait for the server to
// become active: see WaitActive and WaitUnsealed.
func (s *Persistent) Unseal(t testing.TB) {
	t.Helper()
	if _, err := s.NewClient(t, "").Sys().Unseal(s.UnsealKey); err != nil {
		t.Fatalf("vaulttest: unseal %s: %v", s.Addr, err)
	}
}

// WaitActive waits until the server is unsealed and active (sys/health
// answers 200), and fails the test after timeout.
func (s *Persistent) WaitActive(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := s.waitHealth(timeout, func(code int) bool { return code == healthActive }); err != nil {
		t.Fatalf("vaulttest: %s not active: %v", s.Addr, err)
	}
}

// WaitUnsealed waits until the server is unsealed, active or standby.
func (s *Persistent) WaitUnsealed(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := s.waitHealth(timeout, func(code int) bool { return code == healthActive || code == healthStandby }); err != nil {
		t.Fatalf("vaulttest: %s not unsealed: %v", s.Addr, err)
	}
}

// WaitSealed waits until the server reports itself sealed.
func (s *Persistent) WaitSealed(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := s.waitHealth(timeout, func(code int) bool { return code == healthSealed }); err != nil {
		t.Fatalf("vaulttest: %s not sealed: %v", s.Addr, err)
	}
}

// Health returns the status code of sys/health: 200 active, 429 standby,
// 501 not initialised, 503 sealed; 0 when the server does not answer.
func (s *Persistent) Health() int {
	h, err := newHealth(s.Addr, s.CACert)
	if err != nil {
		return 0
	}
	defer h.close()
	code, _ := h.code()
	return code
}

// waitHealth polls sys/health until ok accepts the code (0: no answer).
func (s *Persistent) waitHealth(timeout time.Duration, ok func(code int) bool) error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return errNotRunning
	}
	h, err := newHealth(s.Addr, s.CACert)
	if err != nil {
		return err
	}
	defer h.close()
	return h.wait(p, timeout, s.LogFile, ok)
}

// Client returns a client for the server authenticated with the root token.
func (s *Persistent) Client(t testing.TB) *api.Client {
	t.Helper()
	return s.NewClient(t, s.RootToken)
}

// NewClient returns a client for the server using token (none when
// empty), trusting CACert on a TLS server. VAULT_* settings of the test
// process are overridden.
func (s *Persistent) NewClient(t testing.TB, token string) *api.Client {
	t.Helper()
	return newAPIClient(t, s.Addr, s.CACert, token, &api.TLSConfig{CACert: s.CACert})
}
