//go:build unix

package nginxtest

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReloadServesNewCert(t *testing.T) {
	var pgid int
	t.Run("serve", func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		a := WriteSelfSigned(t, certFile, keyFile)
		n := Start(t, certFile, keyFile)
		pgid = n.master.Pid()

		if got := n.ServedCert(t); got.SerialNumber.Cmp(a.SerialNumber) != 0 {
			t.Fatalf("served serial %s, want A's %s", got.SerialNumber, a.SerialNumber)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get("https://" + n.Addr + "/")
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
			t.Errorf("GET: %s %q, want 200 \"ok\\n\"", resp.Status, body)
		}

		// Swap the files, then reload through the argv a rotor
		// configuration would run.
		b := WriteSelfSigned(t, certFile, keyFile)
		argv := n.ReloadCommand()
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", argv, err, out)
		}
		start := time.Now()
		n.WaitServedSerial(t, b.SerialNumber, 10*time.Second)
		t.Logf("B served %v after the reload command returned", time.Since(start).Round(time.Millisecond))

		// An unusable certificate. `nginx -s reload` parses the whole
		// configuration, certificates included, before it signals the
		// master: it fails and nothing changes.
		if err := os.WriteFile(certFile, []byte("not a certificate\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "cannot load certificate") {
			t.Errorf("reload with a bad certificate: err %v, output %q; want a failure naming the certificate", err, out)
		}
		// A reload command that just signals the master (kill -HUP): the
		// master logs the error and keeps serving B.
		if err := n.master.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitLog(t, n, "cannot load certificate")
		// Old workers may still answer a moment after a reload, so poll:
		// B must (still) be what nginx serves.
		n.WaitServedSerial(t, b.SerialNumber, 10*time.Second)
		// Fixed files: Reload works again.
		c := WriteSelfSigned(t, certFile, keyFile)
		n.Reload(t)
		n.WaitServedSerial(t, c.SerialNumber, 10*time.Second)
	})
	if pgid == 0 { // the subtest stopped before nginx started
		return
	}
	// The cleanup of the subtest has stopped nginx: its process group
	// (master and worker) must be gone.
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("nginx process group %d after cleanup: kill 0 = %v, want ESRCH", pgid, err)
	}
}

// waitLog waits until nginx's error log contains s.
func waitLog(t *testing.T, n *Nginx, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(n.ErrorLog)
		if strings.Contains(string(b), s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("error log has no %q:\n%s", s, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
