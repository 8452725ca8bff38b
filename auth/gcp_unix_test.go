//go:build unix

package auth

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/cloudfake"
)

// TestGCPHomeCredentialsFile checks ~/.gcp/credentials, the last place
// the iam login looks before application default credentials: a key there
// is used, and a named pipe there is skipped at once (read as every
// credential file is: bounded, never blocking) instead of hanging the
// login.
func TestGCPHomeCredentialsFile(t *testing.T) {
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	opts := MethodOptions{Type: "gcp", MountPath: "auth/gcp", GCP: &GCPOptions{Type: "iam", Role: "batch"}}
	for _, tc := range []struct {
		name, signer string
		write        func(path string) error
	}{
		{"key file", gcpSA, func(p string) error { return os.WriteFile(p, f.GCPServiceAccountKey(gcpSA, ""), 0o600) }},
		{"named pipe", cloudfake.GCPDefaultAccount, func(p string) error { return syscall.Mkfifo(p, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if err := os.Mkdir(filepath.Join(home, ".gcp"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(filepath.Join(home, ".gcp", "credentials")); err != nil {
				t.Fatal(err)
			}
			m := cloudMethod(t, f, opts, map[string]string{"HOME": home})
			c := lc.client(t)
			done := make(chan error, 1)
			go func() { _, err := m.Login(t.Context(), c); done <- err }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the login hangs reading ~/.gcp/credentials")
			}
			lc.mu.Lock()
			data := lc.reqs[len(lc.reqs)-1].Data
			lc.mu.Unlock()
			if j := gcpVerify(t, f, data, tc.signer); j.Claims["sub"] != tc.signer {
				t.Errorf("logged in as %v, want %s", j.Claims["sub"], tc.signer)
			}
		})
	}
}
