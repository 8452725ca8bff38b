package state

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/rotorproject/rotor/internal/atomicfile"
	"golang.org/x/crypto/scrypt"
)

// Minimum key material, in bytes after trimming white space. Shorter key
// material is refused: it could be guessed from a stolen state file.
const (
	// MinKeyBytes is the minimum for a random key (a key_file of this size
	// or more, the Kubernetes service-account token).
	MinKeyBytes = 32
	// MinPassphraseBytes is the minimum for a passphrase (key_env, or a
	// key_file shorter than MinKeyBytes).
	MinPassphraseBytes = 16
)

// maxKeyFileBytes bounds a key file read (a service-account token is
// about 1 KiB).
const maxKeyFileBytes = 64 << 10

// The two ways key material becomes the AES-256 key.
const (
	// kdfHKDF is for random key material: HKDF-SHA256 costs nothing and
	// loses nothing when the input already has 256 bits of entropy.
	kdfHKDF = "hkdf-sha256"
	// kdfScrypt is for passphrases, which may be guessable: each guess at
	// a stolen file then costs scrypt's time and memory.
	kdfScrypt = "scrypt"
)

// scrypt's cost, stored in each file. N=2^14, r=8 takes 16 MiB; p=2 runs
// it twice over the same memory (x/crypto's scrypt reuses the buffer), so
// a derivation costs about as much time as N=2^15 at half the memory:
// ~100 ms on a 2-core VM, once per process. The memory is transient but
// counts in peak RSS, and rotor's budget is ~20 MB.
const (
	scryptN, scryptR, scryptP = 1 << 14, 8, 2
	saltBytes                 = 32
)

// hkdfInfo separates rotor's state key from any other use of the same
// key material.
const hkdfInfo = "rotor state file key v2"

// Key is the state file's key material, where it came from, and how it is
// stretched into the AES-256 key. It never prints the material.
type Key struct {
	material []byte
	source   string // e.g. "key_env ROTOR_STATE_KEY"
	kdf      string // kdfHKDF or kdfScrypt
}

// String names the source and the KDF, never the material.
func (k Key) String() string { return k.source + " (" + k.kdf + ")" }

// GoString is String: %#v must not print the material either.
func (k Key) GoString() string { return k.String() }

// Source names where the key came from, e.g. "key_file /etc/rotor/state.key".
func (k Key) Source() string { return k.source }

// KDF names how the key is derived: "hkdf-sha256" or "scrypt".
func (k Key) KDF() string { return k.kdf }

// newKey classifies key material (already trimmed) by the documented rule:
// the service-account token is random and needs MinKeyBytes; a key file of
// MinKeyBytes or more is random; key_env and shorter key files are
// passphrases and need MinPassphraseBytes. Errors name the source, never
// the value.
func newKey(material []byte, source string, passphrase, mustBeRandom bool) (Key, error) {
	n := len(material)
	switch {
	case mustBeRandom && n < MinKeyBytes:
		return Key{}, fmt.Errorf("state: the key from %s is shorter than %d bytes", source, MinKeyBytes)
	case n < MinPassphraseBytes:
		return Key{}, fmt.Errorf("state: the key from %s is shorter than %d bytes; generate one with: head -c 32 /dev/urandom | base64",
			source, MinPassphraseBytes)
	case passphrase || n < MinKeyBytes:
		return Key{material: material, source: source, kdf: kdfScrypt}, nil
	}
	return Key{material: material, source: source, kdf: kdfHKDF}, nil
}

// KeyMaterial reads the key from the configured source: an environment
// variable (a passphrase), a file, or the Kubernetes service-account token
// (at file, or the default path). Errors name the source, never the value.
func KeyMaterial(file, envName string, kubernetes bool, lookup func(string) (string, bool)) (Key, error) {
	if envName != "" {
		v, ok := lookup(envName)
		if !ok || strings.TrimSpace(v) == "" {
			return Key{}, fmt.Errorf("state: key_env %s is not set", envName)
		}
		return newKey([]byte(strings.TrimSpace(v)), "key_env "+envName, true, false)
	}
	source := "key_file " + file
	if kubernetes {
		if file == "" {
			file = DefaultKubernetesTokenPath
		}
		source = "the service-account token " + file
	}
	b, err := atomicfile.ReadRegular(file, maxKeyFileBytes)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the source names the path
		}
		return Key{}, fmt.Errorf("state: read the key from %s: %w", source, err)
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 {
		return Key{}, fmt.Errorf("state: the key file %s is empty", file)
	}
	return newKey(b, source, false, kubernetes)
}

// kdfParams say how a file's key was derived; they are stored in it.
type kdfParams struct {
	Name string `json:"name"`
	Salt []byte `json:"salt"`
	N    int    `json:"n,omitempty"`
	R    int    `json:"r,omitempty"`
	P    int    `json:"p,omitempty"`
}

// params returns k's KDF parameters with salt.
func (k Key) params(salt []byte) kdfParams {
	if k.kdf == kdfScrypt {
		return kdfParams{Name: kdfScrypt, Salt: salt, N: scryptN, R: scryptR, P: scryptP}
	}
	return kdfParams{Name: kdfHKDF, Salt: salt}
}

// equal reports whether two parameter sets derive the same key from the
// same material.
func (p kdfParams) equal(q kdfParams) bool {
	return p.Name == q.Name && string(p.Salt) == string(q.Salt) && p.N == q.N && p.R == q.R && p.P == q.P
}

// derive turns k into the AES-256 key with p, which must be k.params(salt)
// (never parameters read from a file: those could ask for any cost).
func (k Key) derive(p kdfParams) ([]byte, error) {
	derivations.Add(1)
	if p.Name == kdfHKDF {
		return hkdf.Key(sha256.New, k.material, p.Salt, hkdfInfo, 32)
	}
	key, err := scrypt.Key(k.material, p.Salt, p.N, p.R, p.P, 32)
	// scrypt's 16 MiB are garbage now. Without a collection the heap
	// goal stays sized for them and the pages stay resident; once per
	// process, this keeps rotor's RSS where it was.
	debug.FreeOSMemory()
	return key, err
}

// derivations counts key derivations, so a test can check there is one
// per Open and none per Save or Load.
var derivations atomic.Int64

// DefaultKubernetesTokenPath is where the service-account token is read
// when it keys the state.
const DefaultKubernetesTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
