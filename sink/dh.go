package sink

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// DHOptions encrypt what a sink writes for the holder of a Curve25519 key,
// in Vault Agent's format (its dh_type, dh_path, derive_key, aad keys), so
// a reader written for Vault Agent's encrypted sinks reads rotor's. The
// zero value means no encryption. Printing them never shows the AAD.
type DHOptions struct {
	Type string // "" or "curve25519"
	// Path holds the reader's public key as JSON,
	// {"curve25519_public_key": "<base64 of 32 bytes>"}. It is read at each
	// write: it may appear after rotor starts, and may be replaced.
	Path      string
	DeriveKey bool   // derive the AES key with HKDF-SHA256 instead of using the raw shared secret
	AAD       string // additional authenticated data the reader must present
}

// String describes the options without the AAD.
func (o DHOptions) String() string {
	return fmt.Sprintf("dh(type=%s path=%s derive_key=%v aad=%v)", o.Type, o.Path, o.DeriveKey, o.AAD != "")
}

// GoString is String, so %#v does not show the AAD either.
func (o DHOptions) GoString() string { return o.String() }

// ErrPublicKey marks a write that failed because the reader's public key
// (dh_path) is missing or unusable: the reader's to fix, so the agent
// waits and writes again, as Vault Agent does, instead of giving up.
var ErrPublicKey = errors.New("sink public key (dh_path)")

// maxKeyFile bounds the public key file: its JSON is under 100 bytes.
const maxKeyFile = 64 << 10

// envelope is the JSON a DH sink holds: rotor's public key for this write,
// the AES-GCM nonce and the ciphertext, each base64 (Vault's dhutil.Envelope).
type envelope struct {
	PublicKey []byte `json:"curve25519_public_key"`
	Nonce     []byte `json:"nonce"`
	Payload   []byte `json:"encrypted_payload"`
}

// readPublicKey reads and checks the reader's public key from path.
func readPublicKey(path string) (*ecdh.PublicKey, error) {
	b, err := atomicfile.ReadRegular(path, maxKeyFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%w: read %s: %w", ErrPublicKey, path, err)
	}
	var k struct {
		Key []byte `json:"curve25519_public_key"`
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("%w: %s is not JSON with a base64 curve25519_public_key: %v", ErrPublicKey, path, err)
	}
	pub, err := ecdh.X25519().NewPublicKey(k.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: curve25519_public_key has %d bytes, want 32", ErrPublicKey, path, len(k.Key))
	}
	return pub, nil
}

// encrypt seals plaintext for the public key in o.Path, as Vault Agent's
// sink does: X25519 between a key pair of rotor's and the reader's public
// key, then AES-256-GCM under the shared secret (or, with DeriveKey, under
// HKDF-SHA256 of it, salted with the smaller of the two public keys and
// with the larger as info: an order both sides agree on without knowing
// who is who). o.AAD is authenticated, not stored.
func encrypt(o DHOptions, plaintext []byte) ([]byte, error) {
	theirs, err := readPublicKey(o.Path)
	if err != nil {
		return nil, err
	}
	// A new key pair for every write (Vault Agent keeps one per run): the
	// envelope carries its public key, so readers do not notice, and one
	// leaked private key opens one write only.
	ours, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	// ECDH refuses a low-order public key, whose shared secret would be
	// all zeros and known to anyone.
	secret, err := ours.ECDH(theirs)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrPublicKey, o.Path, err)
	}
	key := secret
	if o.DeriveKey {
		a, b := ours.PublicKey().Bytes(), theirs.Bytes()
		if bytes.Compare(a, b) > 0 {
			a, b = b, a
		}
		if key, err = hkdf.Key(sha256.New, secret, a, string(b), 32); err != nil {
			return nil, err
		}
	}
	// The raw X25519 output is 32 bytes: AES-256, as Vault's format wants.
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	// A random 96-bit nonce is safe here: every key encrypts once.
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return json.Marshal(envelope{
		PublicKey: ours.PublicKey().Bytes(),
		Nonce:     nonce,
		Payload:   gcm.Seal(nil, nonce, plaintext, []byte(o.AAD)),
	})
}
