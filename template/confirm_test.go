package template

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/command"
)

// selfSigned returns a new certificate for localhost and its key.
func selfSigned(t *testing.T, serial int64) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func certPEM(c tls.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}))
}

// confirms records OnConfirm.
type confirms struct {
	mu  sync.Mutex
	got []string
}

func (c *confirms) on(name string, took time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, fmt.Sprintf("%v", ok))
}

func (c *confirms) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.got, ",")
}

func statusOf(r *Runner, name string) Status {
	for _, s := range r.Status() {
		if s.Name == name {
			return s
		}
	}
	return Status{}
}

func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// A server that keeps its old certificate: the publish is reported
// unconfirmed at the timeout, the reload command ran again at 1/3 and 2/3
// of it, and the checks go on, so a late reload is confirmed.
func TestTLSConfirmCatchesAReloadThatDidNothing(t *testing.T) {
	oldCert, newCert := selfSigned(t, 1), selfSigned(t, 2)
	var serving atomic.Pointer[tls.Certificate]
	serving.Store(&oldCert)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return serving.Load(), nil }}
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	dest, reloads := filepath.Join(dir, "server.crt"), filepath.Join(dir, "reloads")
	var seen confirms
	r, logs := liveRunner(t, []Spec{{
		Contents: certPEM(newCert), Destination: dest, Perms: 0o644,
		Command: command.Command{Shell: "echo reload >> " + reloads},
		Confirm: &Confirm{TLS: strings.TrimPrefix(srv.URL, "https://"), ServerName: "localhost",
			Timeout: 900 * time.Millisecond, Interval: 50 * time.Millisecond, Reloads: 2},
	}}, Options{OnConfirm: seen.on})
	eventually(t, "unconfirmed", func() error {
		if st := statusOf(r, dest); st.Confirm != ConfirmUnconfirmed {
			return fmt.Errorf("confirm %q (%s)", st.Confirm, st.ConfirmClass)
		}
		return nil
	})
	st := statusOf(r, dest)
	if st.ConfirmClass != ConfirmOldCertificate || !strings.Contains(st.ConfirmErr, "serial 1, not the rendered 2") || st.ConfirmFailures != 1 {
		t.Fatalf("status %+v", st)
	}
	if n := lineCount(reloads); n != 3 {
		t.Fatalf("reload command ran %d times, want 3 (publish, then at 1/3 and 2/3 of the timeout)", n)
	}
	if got := seen.String(); got != "false" {
		t.Fatalf("OnConfirm: %s", got)
	}
	if !strings.Contains(logs.String(), "published, not confirmed") {
		t.Fatalf("no error logged:\n%s", logs)
	}
	serving.Store(&newCert) // the server reloads at last
	eventually(t, "confirmed late", func() error {
		if st := statusOf(r, dest); st.Confirm != ConfirmConfirmed || st.ConfirmClass != "" || st.ConfirmedAt.IsZero() {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if got := seen.String(); got != "false,true" {
		t.Fatalf("OnConfirm: %s", got)
	}
}

// An HTTP check is confirmed once the URL answers 2xx; until then the
// template is pending, with the reason.
func TestHTTPConfirm(t *testing.T) {
	var ok atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ok.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "app.conf")
	r, _ := liveRunner(t, []Spec{{Contents: "x", Destination: dest, Perms: 0o644,
		Confirm: &Confirm{HTTP: srv.URL + "/healthz?token=abc", Timeout: time.Minute, Interval: 20 * time.Millisecond}}}, Options{})
	eventually(t, "pending with a reason", func() error {
		st := statusOf(r, dest)
		if st.Confirm != ConfirmPending || st.ConfirmClass != ConfirmCheckFailed {
			return fmt.Errorf("status %+v", st)
		}
		if strings.Contains(st.ConfirmErr, "token=abc") || !strings.Contains(st.ConfirmErr, "answered 503") {
			return fmt.Errorf("error text %q", st.ConfirmErr)
		}
		return nil
	})
	ok.Store(true)
	eventually(t, "confirmed", func() error {
		if st := statusOf(r, dest); st.Confirm != ConfirmConfirmed || st.ConfirmSeconds <= 0 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}

// A command check waits for the reload command to succeed, then runs
// until it exits 0.
func TestCommandConfirmWaitsForTheReloadCommand(t *testing.T) {
	dir := t.TempDir()
	dest, marker := filepath.Join(dir, "db.env"), filepath.Join(dir, "reloaded")
	r, _ := liveRunner(t, []Spec{{Contents: "x", Destination: dest, Perms: 0o644,
		Command: command.Command{Shell: "touch " + marker},
		Confirm: &Confirm{Command: command.Command{Argv: []string{"test", "-f", marker}}, Timeout: time.Minute, Interval: 20 * time.Millisecond}}},
		Options{})
	eventually(t, "confirmed", func() error {
		if st := statusOf(r, dest); st.Confirm != ConfirmConfirmed {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}
