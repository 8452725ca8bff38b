// Package sink writes rotor's token where the application reads it.
package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/internal/atomicfile"
)

// File writes the token to a file, atomically, with a fixed mode and owner.
// With WrapTTL it writes a response-wrapped token instead: the JSON wrap
// info that `vault unwrap` takes, so the token itself never touches disk.
type File struct {
	Path     string
	Mode     os.FileMode
	UID, GID int
	WrapTTL  time.Duration
}

// NewFile builds a file sink from config, resolving owner names to ids.
func NewFile(s *config.Sink) (*File, error) {
	uid, gid, err := atomicfile.ResolveOwner(s.Owner.User, s.Owner.Group, s.Owner.UID, s.Owner.GID)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", s.Path, err)
	}
	return &File{Path: s.Path, Mode: s.Mode, UID: uid, GID: gid, WrapTTL: s.WrapTTL}, nil
}

// Write stores token (whose value c authenticates with). It blocks for at
// most one Vault request (when wrapping) and one file write.
func (f *File) Write(ctx context.Context, c *api.Client, token string) error {
	data := []byte(token)
	if f.WrapTTL > 0 {
		w, err := wrap(ctx, c, token, f.WrapTTL)
		if err != nil {
			return fmt.Errorf("sink %s: %w", f.Path, err)
		}
		data = w
	}
	if _, err := atomicfile.Write(f.Path, data, atomicfile.Options{Mode: f.Mode, UID: f.UID, GID: f.GID}); err != nil {
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
