// Package sink writes rotor's token where the application reads it.
package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/atomicfile"
)

// FileOptions describe a file sink. They are comparable, so a reload can
// tell whether a sink changed.
type FileOptions struct {
	Path  string
	Mode  os.FileMode
	Owner atomicfile.Owner
	// WrapTTL writes a response-wrapped token instead (0: the token). A
	// negative one is sent to Vault as it is, as Vault Agent does: Vault
	// refuses it and the sink is not written.
	WrapTTL time.Duration
	DH      DHOptions // encrypt what is written for a reader's public key
}

// File writes the token to a file, atomically, with a fixed mode and owner.
// With WrapTTL it writes a response-wrapped token instead: the JSON wrap
// info that `vault unwrap` takes, so the token itself never touches disk.
// With DH it encrypts what it writes (the token or the wrap info) for the
// public key in DH.Path, in Vault Agent's envelope (see dh.go).
type File struct {
	o        FileOptions
	uid, gid int
}

// NewFile builds a file sink, resolving owner names to ids (an unknown
// user or group is an error now, not at the first write).
func NewFile(o FileOptions) (*File, error) {
	uid, gid, err := o.Owner.Resolve()
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", o.Path, err)
	}
	if t := o.DH.Type; t != "" && (t != "curve25519" || o.DH.Path == "") {
		return nil, fmt.Errorf("sink %s: %v: the only dh_type is curve25519, and it needs dh_path", o.Path, o.DH)
	}
	return &File{o: o, uid: uid, gid: gid}, nil
}

// Path is the file the sink writes.
func (f *File) Path() string { return f.o.Path }

// Wrapped reports whether the sink writes a response-wrapped token.
func (f *File) Wrapped() bool { return f.o.WrapTTL != 0 }

// Encrypted reports whether the sink encrypts what it writes.
func (f *File) Encrypted() bool { return f.o.DH.Type != "" }

// Write stores token (whose value c authenticates with). With a method's
// wrap_ttl, token is instead the login's wrap info (JSON), written as it
// is; the sink then has no WrapTTL of its own. Write blocks for at most one
// Vault request (when wrapping) and one file write. An error wrapping
// ErrPublicKey means the reader's public key is not there yet.
func (f *File) Write(ctx context.Context, c *api.Client, token string) error {
	data := []byte(token)
	if f.o.WrapTTL != 0 {
		w, err := wrap(ctx, c, token, f.o.WrapTTL)
		if err != nil {
			return fmt.Errorf("sink %s: %w", f.o.Path, err)
		}
		data = w
	}
	// Wrap, then encrypt: Vault Agent's order, so the reader decrypts
	// first and unwraps second.
	if f.o.DH.Type != "" {
		e, err := encrypt(f.o.DH, data)
		if err != nil {
			return fmt.Errorf("sink %s: %w", f.o.Path, err)
		}
		data = e
	}
	if _, err := atomicfile.Write(f.o.Path, data, atomicfile.Options{Mode: f.o.Mode, UID: f.uid, GID: f.gid, Owner: f.o.Owner}); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	return nil
}

// wrap response-wraps the token with sys/wrapping/wrap.
func wrap(ctx context.Context, c *api.Client, token string, ttl time.Duration) ([]byte, error) {
	wc, err := c.CloneWithHeaders()
	if err != nil {
		return nil, err
	}
	wc.SetToken(token)
	wc.SetWrappingLookupFunc(func(string, string) string { return ttl.String() })
	s, err := wc.Logical().WriteWithContext(ctx, "sys/wrapping/wrap", map[string]any{"token": token})
	if err != nil {
		return nil, fmt.Errorf("wrap the token: %w", err)
	}
	if s == nil || s.WrapInfo == nil {
		return nil, fmt.Errorf("wrap the token: Vault's answer has no wrap info")
	}
	return json.Marshal(s.WrapInfo)
}
