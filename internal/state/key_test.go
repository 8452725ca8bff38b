//go:build unix

package state

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The rule: key_env is a passphrase (scrypt) of at least 16 bytes; a key
// file of 32 bytes or more is a random key (HKDF), of 16 to 31 a
// passphrase; the service-account token is a random key of at least 32.
// Shorter material is refused with an error naming the source, never the
// value.
func TestKeyMaterialRules(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := "c2VjcmV0LXJhbmRvbS1rZXktbWF0ZXJpYWwtNDQtYnl0ZXM="
	env := map[string]string{"SHORT": "tiny-secret", "PASS": "sixteen-bytes-ok", "LONG": random}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name, file, env string
		k8s             bool
		kdf, errHas     string
		secret          string // must not appear in the error
	}{
		{name: "env too short", env: "SHORT", errHas: "key_env SHORT is shorter than 16 bytes", secret: "tiny-secret"},
		{name: "env passphrase", env: "PASS", kdf: kdfScrypt},
		{name: "env long is still a passphrase", env: "LONG", kdf: kdfScrypt},
		{name: "env missing", env: "MISSING", errHas: "key_env MISSING is not set"},
		{name: "file random", file: file("random", random+"\n"), kdf: kdfHKDF},
		{name: "file passphrase", file: file("pass", "twenty-byte-secret!!\n"), kdf: kdfScrypt},
		{name: "file too short", file: file("short", "tiny-secret\n"), errHas: "is shorter than 16 bytes", secret: "tiny-secret"},
		{name: "file empty", file: file("empty", "\n\n"), errHas: "is empty"},
		{name: "token", file: file("token", "eyJhbGciOiJSUzI1NiJ9."+strings.Repeat("x", 600)), k8s: true, kdf: kdfHKDF},
		{name: "token too short", file: file("token-short", "twenty-byte-secret!!"), k8s: true, errHas: "shorter than 32 bytes", secret: "twenty"},
		{name: "file too large", file: file("large", strings.Repeat("k", 65<<10)), errHas: "too large"},
	} {
		k, err := KeyMaterial(tc.file, tc.env, tc.k8s, lookup)
		switch {
		case tc.errHas != "":
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.errHas)
			} else if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("%s: the error shows the key: %v", tc.name, err)
			}
		case err != nil || k.KDF() != tc.kdf:
			t.Errorf("%s: got %v %v, want kdf %s", tc.name, k, err, tc.kdf)
		}
	}
}

// A key file that is a named pipe fails at once instead of blocking
// rotor's start forever.
func TestKeyFileFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := KeyMaterial(p, "", false, nil); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("FIFO key file: %v", err)
		}
	case <-time.After(5 * time.Second):
		if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		t.Fatal("reading a FIFO key file blocked")
	}
}

func TestKeyNeverPrintsMaterial(t *testing.T) {
	k, err := newKey([]byte("a passphrase of some length"), "key_env K", true, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprintf("%v", &k)} {
		if strings.Contains(s, "passphrase") {
			t.Fatalf("printed: %s", s)
		}
	}
}

// BenchmarkOpenPassphrase measures a scrypt derivation (once per process).
func BenchmarkOpenPassphrase(b *testing.B) {
	k, _ := newKey([]byte("a passphrase of some length"), "key_env K", true, false)
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Open(dir, k, "b"); err != nil {
			b.Fatal(err)
		}
	}
}
