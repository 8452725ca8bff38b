package vaulttest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// spawn starts bin in its own process group with its output appended to
// logFile (after a banner naming addr) and reaps it in the background.
func spawn(bin string, args []string, dir string, env []string, logFile, addr string) (*proc.Process, error) {
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== vaulttest: starting vault at %s on %s\n", time.Now().Format(time.RFC3339Nano), addr)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	p, err := proc.Start(cmd)
	logf.Close() // the child holds its own descriptor
	return p, err
}

// stop asks Vault to shut down (SIGTERM), kills its process group after
// stopTimeout, and reaps it.
func stop(p *proc.Process) { p.Stop(syscall.SIGTERM, stopTimeout) }

// health asks a server for sys/health, whose status code says its state:
// 200 active, 429 standby, 501 not initialised, 503 sealed.
type health struct {
	addr string
	tr   *http.Transport
	hc   *http.Client
}

// Status codes of sys/health with Vault's default query parameters.
const (
	healthActive  = http.StatusOK
	healthStandby = http.StatusTooManyRequests
	healthUninit  = http.StatusNotImplemented
	healthSealed  = http.StatusServiceUnavailable
)

func newHealth(addr, caCert string) (*health, error) {
	tr := &http.Transport{Proxy: nil}
	if caCert != "" {
		pemBytes, err := os.ReadFile(caCert)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &health{addr: addr, tr: tr, hc: &http.Client{Transport: tr, Timeout: 2 * time.Second}}, nil
}

func (h *health) close() { h.tr.CloseIdleConnections() }

// code returns sys/health's status code, or an error when nothing answers.
func (h *health) code() (int, error) {
	resp, err := h.hc.Get(h.addr + "/v1/sys/health")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// wait polls sys/health every 50ms until ok accepts its status code, the
// process p exits (when p is not nil), or timeout passes.
func (h *health) wait(p *proc.Process, timeout time.Duration, logFile string, ok func(code int) bool) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		code, err := h.code()
		if err == nil {
			if ok(code) {
				return nil
			}
			err = fmt.Errorf("sys/health: %d %s", code, http.StatusText(code))
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("not in the wanted state after %v: %w", timeout, last)
		}
		var exited <-chan struct{}
		if p != nil {
			exited = p.Done()
		}
		select {
		case <-exited:
			return fmt.Errorf("vault exited: %v (see %s)", p.Err(), logFile)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// errNotRunning is returned by operations that need a running server.
var errNotRunning = errors.New("vault is not running")
