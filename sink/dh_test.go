package sink

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/hkdf"
)

// reader is an application reading an encrypted sink. It decrypts with
// Vault's documented scheme, implemented here on its own (x/crypto's HKDF,
// not the standard library's that the sink uses).
type reader struct {
	key     *ecdh.PrivateKey
	keyFile string
}

func newReader(t *testing.T, dir string) *reader {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{key: k, keyFile: filepath.Join(dir, "dh-pub.json")}
	b, _ := json.Marshal(map[string][]byte{"curve25519_public_key": k.PublicKey().Bytes()})
	if err := os.WriteFile(r.keyFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *reader) decrypt(sinkFile []byte, derive bool, aad string) ([]byte, error) {
	var env struct {
		PublicKey []byte `json:"curve25519_public_key"`
		Nonce     []byte `json:"nonce"`
		Payload   []byte `json:"encrypted_payload"`
	}
	if err := json.Unmarshal(sinkFile, &env); err != nil {
		return nil, err
	}
	theirs, err := ecdh.X25519().NewPublicKey(env.PublicKey)
	if err != nil {
		return nil, err
	}
	shared, err := r.key.ECDH(theirs)
	if err != nil {
		return nil, err
	}
	key := shared
	if derive {
		// Salt: the smaller public key; info: the larger.
		salt, info := env.PublicKey, r.key.PublicKey().Bytes()
		if string(salt) > string(info) {
			salt, info = info, salt
		}
		key = make([]byte, 32)
		if _, err := io.ReadFull(hkdf.New(sha256.New, shared, salt, info), key); err != nil {
			return nil, err
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return gcm.Open(nil, env.Nonce, env.Payload, []byte(aad))
}

func TestEncryptedSinkDecryptsWithVaultsScheme(t *testing.T) {
	const token = "hvs.CAESIExampleTokenValue"
	for _, c := range []struct {
		name   string
		derive bool
		aad    string
	}{{"raw key", false, ""}, {"derived key", true, ""}, {"raw key and aad", false, "app-42"}, {"derived key and aad", true, "app-42"}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			r := newReader(t, dir)
			path := filepath.Join(dir, "token")
			f, err := NewFile(FileOptions{Path: path, Mode: 0o600, DH: DHOptions{Type: "curve25519", Path: r.keyFile, DeriveKey: c.derive, AAD: c.aad}})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Write(context.Background(), nil, token); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			if strings.Contains(string(b), token) {
				t.Fatal("the sink holds the token in clear")
			}
			for _, field := range []string{`"curve25519_public_key":`, `"nonce":`, `"encrypted_payload":`} {
				if !strings.Contains(string(b), field) {
					t.Fatalf("envelope %s lacks %s", b, field)
				}
			}
			got, err := r.decrypt(b, c.derive, c.aad)
			if err != nil || string(got) != token {
				t.Fatalf("decrypt: %q, %v", got, err)
			}
			// The wrong AAD, or the other key derivation, does not open it.
			if _, err := r.decrypt(b, c.derive, c.aad+"x"); err == nil {
				t.Fatal("opened with the wrong aad")
			}
			if _, err := r.decrypt(b, !c.derive, c.aad); err == nil {
				t.Fatal("opened with the other key derivation")
			}
			// Each write has its own key pair: two envelopes differ.
			if err := f.Write(context.Background(), nil, token); err != nil {
				t.Fatal(err)
			}
			b2, _ := os.ReadFile(path)
			var e1, e2 envelope
			json.Unmarshal(b, &e1)
			json.Unmarshal(b2, &e2)
			if string(e1.PublicKey) == string(e2.PublicKey) || string(e1.Nonce) == string(e2.Nonce) {
				t.Fatal("two writes share a key pair or a nonce")
			}
		})
	}
}

// The public key file is read at each write: missing, it is an
// ErrPublicKey (the agent waits for it); once there, the write works; a
// new key replaces the old one at the next write.
func TestPublicKeyFileReadAtEachWrite(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "later.json")
	path := filepath.Join(dir, "token")
	f, err := NewFile(FileOptions{Path: path, Mode: 0o600, DH: DHOptions{Type: "curve25519", Path: keyFile}})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Write(context.Background(), nil, "tok-1")
	if !errors.Is(err, ErrPublicKey) || !strings.Contains(err.Error(), keyFile) || strings.Contains(err.Error(), "tok-1") {
		t.Fatalf("missing key: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the sink was written without encryption")
	}
	for name, content := range map[string]string{
		"not JSON":   "curve25519",
		"short key":  `{"curve25519_public_key": "AAAA"}`,
		"no key":     `{}`,
		"zero point": `{"curve25519_public_key": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
	} {
		os.WriteFile(keyFile, []byte(content), 0o644)
		if err := f.Write(context.Background(), nil, "tok-1"); !errors.Is(err, ErrPublicKey) {
			t.Errorf("%s: %v, want ErrPublicKey", name, err)
		}
	}
	first := newReader(t, dir)
	os.Rename(first.keyFile, keyFile)
	if err := f.Write(context.Background(), nil, "tok-1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if got, err := first.decrypt(b, false, ""); err != nil || string(got) != "tok-1" {
		t.Fatalf("first key: %q %v", got, err)
	}
	second := newReader(t, dir)
	os.Rename(second.keyFile, keyFile)
	if err := f.Write(context.Background(), nil, "tok-2"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	if got, err := second.decrypt(b, false, ""); err != nil || string(got) != "tok-2" {
		t.Fatalf("rotated key: %q %v", got, err)
	}
	if _, err := first.decrypt(b, false, ""); err == nil {
		t.Fatal("the old key still opens the sink")
	}
}

func TestDHOptionsChecks(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []DHOptions{{Type: "p256", Path: "x"}, {Type: "curve25519"}} {
		if _, err := NewFile(FileOptions{Path: filepath.Join(dir, "t"), DH: o}); err == nil {
			t.Errorf("%v accepted", o)
		}
	}
	o := DHOptions{Type: "curve25519", Path: "/k", AAD: "secret-aad"}
	for _, s := range []string{o.String(), o.GoString(), fmt.Sprintf("%+v", FileOptions{DH: o}), fmt.Sprintf("%#v", FileOptions{DH: o})} {
		if strings.Contains(s, "secret-aad") {
			t.Fatalf("printed: %s", s)
		}
	}
}
