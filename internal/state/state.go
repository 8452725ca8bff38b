// Package state keeps rotor's token and leases in a file between runs, so
// a restart reuses them instead of logging in and issuing new
// credentials. The whole content is encrypted with AES-256-GCM: it holds
// the token and secret values. The key is derived from the configured key
// material with HKDF-SHA256 (random keys) or scrypt (passphrases) and a
// random salt stored in the file.
package state

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// FileName is the state file's name inside state_dir.
const FileName = "rotor.state"

// version is the envelope format written. Version 1 (an unsalted SHA-256
// of the key material) is refused with ErrOldFormat.
const version = 2

// maxFileBytes bounds a state file read. Hundreds of secrets take a few
// hundred KiB.
const maxFileBytes = 32 << 20

// Errors Load returns; each means "start fresh".
var (
	ErrNone    = errors.New("no state file")
	ErrCorrupt = errors.New("state file is corrupt")
	// ErrForeign: the file was written with another key, or for another
	// Vault or auth method (or the Kubernetes token that keys it rotated).
	ErrForeign = errors.New("state file was written with another key or for another Vault")
	// ErrOldFormat: a version 1 file, whose key derivation was too weak to
	// keep reading. It is also an ErrCorrupt.
	ErrOldFormat error = oldFormat{}
)

type oldFormat struct{}

func (oldFormat) Error() string        { return "state file format v1 is no longer read" }
func (oldFormat) Is(target error) bool { return target == ErrCorrupt }

// File is an encrypted state file.
type File struct {
	path string
	kdf  kdfParams // how aead's key was derived, written into each save
	aead cipher.AEAD
	aad  []byte
}

// envelope is what is on disk.
type envelope struct {
	Version int       `json:"version"`
	KDF     kdfParams `json:"kdf"`
	Nonce   []byte    `json:"nonce"`
	Data    []byte    `json:"data"`
}

// Open prepares dir/rotor.state (dir is created 0700) and derives its key
// from key, once: every Save and Load of this File reuses it. The salt is
// the existing file's when that file was written with the same kind of
// key, so it can be read; otherwise a new random one. bind names what the
// state belongs to (Vault address, auth mount) and is authenticated with
// it, so a copied or stale file from elsewhere is refused. With a
// passphrase, Open takes about 100 ms of CPU and 16 MiB for a moment.
func Open(dir string, key Key, bind string) (*File, error) {
	if key.kdf == "" {
		return nil, errors.New("state: no encryption key")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	p := key.params(nil)
	if env, err := read(path); err == nil && env.Version == version && len(env.KDF.Salt) == saltBytes {
		// Reused only when every parameter is the one this key would
		// use anyway: a file must not choose scrypt's cost.
		if q := key.params(env.KDF.Salt); q.equal(env.KDF) {
			p = q
		}
	}
	if p.Salt == nil {
		p.Salt = make([]byte, saltBytes)
		rand.Read(p.Salt)
	}
	k, err := key.derive(p)
	if err != nil {
		return nil, fmt.Errorf("state: derive the key from %s: %w", key.source, err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &File{path: path, kdf: p, aead: aead, aad: []byte("rotor-state-v2|" + bind)}, nil
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
	rand.Read(nonce)
	out, err := json.Marshal(envelope{Version: version, KDF: f.kdf, Nonce: nonce, Data: f.aead.Seal(nil, nonce, plain, f.aad)})
	if err != nil {
		return err
	}
	if _, err := atomicfile.Write(f.path, out, atomicfile.Options{Mode: 0o600, UID: -1, GID: -1}); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return nil
}

// Load decrypts the file into v. Errors are ErrNone, ErrCorrupt (of which
// ErrOldFormat) or ErrForeign, wrapped with details that never include the
// content.
func (f *File) Load(v any) error {
	env, err := read(f.path)
	if err != nil {
		return err
	}
	switch {
	case env.Version == 1:
		return ErrOldFormat
	case env.Version != version || len(env.Nonce) != f.aead.NonceSize():
		return fmt.Errorf("%w: not a rotor state file (version %d)", ErrCorrupt, env.Version)
	case !env.KDF.equal(f.kdf):
		// Another salt or KDF: written with other key material (another
		// kind of source), or replaced since Open.
		return fmt.Errorf("%w (another salt or key derivation)", ErrForeign)
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

// read reads and decodes the envelope at path: ErrNone when there is no
// file, ErrCorrupt when it cannot be read or decoded.
func read(path string) (envelope, error) {
	b, err := atomicfile.ReadRegular(path, maxFileBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return envelope{}, ErrNone
	}
	if err != nil {
		return envelope{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return envelope{}, fmt.Errorf("%w: not a rotor state file", ErrCorrupt)
	}
	return env, nil
}

// Remove deletes the file (after everything in it was revoked).
func (f *File) Remove() error {
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
