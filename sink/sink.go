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
	Path    string
	Mode    os.FileMode
	Owner   atomicfile.Owner
	WrapTTL time.Duration // write a response-wrapped token instead (0: the token)
}

// File writes the token to a file, atomically, with a fixed mode and owner.
// With WrapTTL it writes a response-wrapped token instead: the JSON wrap
// info that `vault unwrap` takes, so the token itself never touches disk.
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
	return &File{o: o, uid: uid, gid: gid}, nil
}

// Path is the file the sink writes.
func (f *File) Path() string { return f.o.Path }

// Wrapped reports whether the sink writes a response-wrapped token.
func (f *File) Wrapped() bool { return f.o.WrapTTL > 0 }

// Write stores token (whose value c authenticates with). It blocks for at
// most one Vault request (when wrapping) and one file write.
func (f *File) Write(ctx context.Context, c *api.Client, token string) error {
	data := []byte(token)
	if f.o.WrapTTL > 0 {
		w, err := wrap(ctx, c, token, f.o.WrapTTL)
		if err != nil {
			return fmt.Errorf("sink %s: %w", f.o.Path, err)
		}
		data = w
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
