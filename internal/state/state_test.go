package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type payload struct{ Token, Note string }

// testKey is a random-looking key of 44 bytes (HKDF).
func testKey(t testing.TB, s string) Key {
	t.Helper()
	k, err := newKey([]byte(fmt.Sprintf("%-44s", s)), "key_file test", false, false)
	if err != nil || k.kdf != kdfHKDF {
		t.Fatalf("test key: %v %v", k, err)
	}
	return k
}

func TestSaveLoadAndRefusals(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	f, err := Open(dir, testKey(t, "key-one"), "http://vault:8200|auth/approle")
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	if err := f.Load(&got); !errors.Is(err, ErrNone) {
		t.Fatalf("missing file: %v", err)
	}
	if err := f.Save(payload{Token: "hvs.secret-token-value", Note: "x"}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(f.Path())
	if strings.Contains(string(raw), "secret-token-value") {
		t.Fatal("the token is readable in the file")
	}
	if st, _ := os.Stat(f.Path()); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", st.Mode().Perm())
	}
	// A new process: Open again, reading the salt from the file.
	again, err := Open(dir, testKey(t, "key-one"), "http://vault:8200|auth/approle")
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Load(&got); err != nil || got.Token != "hvs.secret-token-value" {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	other, _ := Open(dir, testKey(t, "key-two"), "http://vault:8200|auth/approle")
	if err := other.Load(&got); !errors.Is(err, ErrForeign) {
		t.Fatalf("other key: %v", err)
	}
	elsewhere, _ := Open(dir, testKey(t, "key-one"), "http://other:8200|auth/approle")
	if err := elsewhere.Load(&got); !errors.Is(err, ErrForeign) {
		t.Fatalf("other Vault: %v", err)
	}
	os.WriteFile(f.Path(), []byte("{not json"), 0o600)
	if err := f.Load(&got); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt: %v", err)
	}
	if err := f.Remove(); err != nil {
		t.Fatal(err)
	}
}

// The file records how its key was derived, with a random salt; a
// passphrase goes through scrypt. Two files never share a salt.
func TestEnvelopeHasSaltAndKDF(t *testing.T) {
	pass, err := newKey([]byte("a passphrase of some length"), "key_env K", true, false)
	if err != nil {
		t.Fatal(err)
	}
	salts := map[string]bool{}
	for _, k := range []Key{pass, testKey(t, "random"), testKey(t, "random")} {
		f, err := Open(t.TempDir(), k, "b")
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Save(payload{Token: "t"}); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(f.Path())
		var env envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		want := k.params(env.KDF.Salt)
		if env.Version != 2 || !env.KDF.equal(want) || len(env.KDF.Salt) != saltBytes {
			t.Fatalf("envelope %+v, want version 2 and %+v", env, want)
		}
		if salts[string(env.KDF.Salt)] {
			t.Fatal("two files share a salt")
		}
		salts[string(env.KDF.Salt)] = true
	}
}

// The key is derived once per process: Open pays for scrypt, saves and
// loads do not.
func TestPassphraseDerivedOnce(t *testing.T) {
	pass, _ := newKey([]byte("a passphrase of some length"), "key_env K", true, false)
	before := derivations.Load()
	f, err := Open(t.TempDir(), pass, "b")
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	for range 5 {
		if err := f.Save(payload{Token: "t"}); err != nil {
			t.Fatal(err)
		}
		if err := f.Load(&got); err != nil {
			t.Fatal(err)
		}
	}
	if n := derivations.Load() - before; n != 1 {
		t.Fatalf("%d key derivations for one Open and 5 saves and loads, want 1", n)
	}
}

// A version 1 file (key = one unsalted SHA-256 of the material) is no
// longer read, even with the right key.
func TestOldFormatRefused(t *testing.T) {
	dir := t.TempDir()
	material := []byte(fmt.Sprintf("%-44s", "key-one"))
	sum := sha256.Sum256(append([]byte("rotor state key v1\x00"), material...))
	block, _ := aes.NewCipher(sum[:])
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	plain, _ := json.Marshal(payload{Token: "hvs.old"})
	v1, _ := json.Marshal(map[string]any{"version": 1, "nonce": nonce, "data": aead.Seal(nil, nonce, plain, []byte("rotor-state-v1|b"))})
	os.WriteFile(filepath.Join(dir, FileName), v1, 0o600)

	f, err := Open(dir, testKey(t, "key-one"), "b")
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	err = f.Load(&got)
	if !errors.Is(err, ErrOldFormat) || !errors.Is(err, ErrCorrupt) || got.Token != "" {
		t.Fatalf("v1 file: %v, loaded %+v", err, got)
	}
	if !strings.Contains(err.Error(), "format v1 is no longer read") {
		t.Fatalf("unclear error: %v", err)
	}
}

// scrypt's cost comes from rotor, never from the file: a file asking for
// N=2^30 (1 TiB) is ignored at once.
func TestFileCannotChooseTheCost(t *testing.T) {
	dir := t.TempDir()
	evil, _ := json.Marshal(envelope{Version: 2, KDF: kdfParams{Name: kdfScrypt, Salt: make([]byte, saltBytes), N: 1 << 30, R: 8, P: 1},
		Nonce: make([]byte, 12), Data: []byte("x")})
	os.WriteFile(filepath.Join(dir, FileName), evil, 0o600)
	pass, _ := newKey([]byte("a passphrase of some length"), "key_env K", true, false)
	f, err := Open(dir, pass, "b")
	if err != nil {
		t.Fatal(err)
	}
	if f.kdf.N != scryptN {
		t.Fatalf("derived with N=%d", f.kdf.N)
	}
	if err := f.Load(&payload{}); !errors.Is(err, ErrForeign) {
		t.Fatalf("load: %v", err)
	}
}
