//go:build unix

package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/vaultclient"
)

// A named pipe in place of a credential file (a JWT, a token) used to
// block the login forever; it fails at once now, as a credentials error
// naming the file.
func TestCredentialFIFOFailsAtOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "jwt")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := NewMethod(MethodOptions{Type: "jwt", MountPath: "auth/jwt", JWT: &JWTOptions{Path: p, Role: "r"}}, vaultclient.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(&api.Config{Address: "http://127.0.0.1:1"})
	done := make(chan error, 1)
	go func() { _, err := m.Login(context.Background(), c); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("got %v, want a credentials error naming %s as a named pipe", err, p)
		}
	case <-time.After(5 * time.Second):
		// Release the blocked reader so the test can end.
		if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("the login blocked on a FIFO credential file")
	}
}

// A credential file is bounded: a huge file (or a device) is refused
// without being read into memory, and its content never shows.
func TestCredentialSizeCap(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "secret_id")
	if err := os.WriteFile(big, []byte(strings.Repeat("S", maxCredentialBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readCredential(big, "secret_id")
	if !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), big) || strings.Contains(err.Error(), "SSS") {
		t.Fatalf("oversized file: %v", err)
	}
	ok := filepath.Join(dir, "jwt")
	jwt := strings.Repeat("j", maxCredentialBytes-1) + "\n"
	if err := os.WriteFile(ok, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := readCredential(ok, "JWT"); err != nil || s != strings.TrimSpace(jwt) {
		t.Fatalf("a file at the limit: %d bytes, %v", len(s), err)
	}
	if _, err := readCredential("/dev/zero", "token"); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "device") {
		t.Fatalf("device: %v", err)
	}
}
