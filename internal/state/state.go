// Package state keeps rotor's token and leases in a file between runs, so
// a restart reuses them instead of logging in and issuing new
// credentials. The whole content is encrypted with AES-256-GCM: it holds
// the token and secret values.
package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// FileName is the state file's name inside state_dir.
const FileName = "rotor.state"

const version = 1

// Errors Load returns; each means "start fresh".
var (
	ErrNone    = errors.New("no state file")
	ErrCorrupt = errors.New("state file is corrupt")
	// ErrForeign: the file was written with another key, or for another
	// Vault or auth method (or the Kubernetes token that keys it rotated).
	ErrForeign = errors.New("state file was written with another key or for another Vault")
)

// File is an encrypted state file.
type File struct {
	path string
	aead cipher.AEAD
	aad  []byte
}

// envelope is what is on disk.
type envelope struct {
	Version int    `json:"version"`
	Nonce   []byte `json:"nonce"`
	Data    []byte `json:"data"`
}

// Open prepares dir/rotor.state (dir is created 0700). key material of any
// length is stretched to an AES-256 key with SHA-256; bind names what the
// state belongs to (Vault address, auth mount) and is authenticated with
// it, so a copied or stale file from elsewhere is refused.
func Open(dir string, keyMaterial []byte, bind string) (*File, error) {
	if len(keyMaterial) == 0 {
		return nil, errors.New("state: the encryption key is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create %s: %w", dir, err)
	}
	sum := sha256.Sum256(append([]byte("rotor state key v1\x00"), keyMaterial...))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &File{path: filepath.Join(dir, FileName), aead: aead, aad: []byte("rotor-state-v1|" + bind)}, nil
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Save encrypts v (as JSON) and writes it atomically, mode 0600.
func (f *File) Save(v any) error {
	plain, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	nonce := make([]byte, f.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	out, err := json.Marshal(envelope{Version: version, Nonce: nonce, Data: f.aead.Seal(nil, nonce, plain, f.aad)})
	if err != nil {
		return err
	}
	if _, err := atomicfile.Write(f.path, out, atomicfile.Options{Mode: 0o600, UID: -1, GID: -1}); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// Load decrypts the file into v. Errors are ErrNone, ErrCorrupt or
// ErrForeign (wrapped with details that never include the content).
func (f *File) Load(v any) error {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNone
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Version != version || len(env.Nonce) != f.aead.NonceSize() {
		return fmt.Errorf("%w: not a rotor state file (version %d)", ErrCorrupt, env.Version)
	}
	plain, err := f.aead.Open(nil, env.Nonce, env.Data, f.aad)
	if err != nil {
		return ErrForeign
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// Remove deletes the file (after everything in it was revoked).
func (f *File) Remove() error {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// DefaultKubernetesTokenPath is where the service-account token is read
// when it keys the state.
const DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// KeyMaterial reads the key from the configured source: a file, an
// environment variable, or the Kubernetes service-account token (at path
// or the default). Errors name the source, never the value.
func KeyMaterial(file, envName string, kubernetes bool, lookup func(string) (string, bool)) ([]byte, error) {
	switch {
	case envName != "":
		v, ok := lookup(envName)
		if !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("state: key_env %s is not set", envName)
		}
		return []byte(strings.TrimSpace(v)), nil
	case kubernetes && file == "":
		file = DefaultKubernetesTokenPath
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("state: read key from %s: %w", file, errors.Unwrap(err))
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, fmt.Errorf("state: key file %s is empty", file)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}
