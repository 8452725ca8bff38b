package auth

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/vault/api"
)

// jwt logs in with a JWT read from a file (a CI system's OIDC token, a
// projected token). With remove_jwt_after_reading the file is deleted once
// read, and the last value is kept for re-logins until a new file appears.
type jwt struct {
	mount  string
	cfg    JWTOptions
	cached string
}

func (j *jwt) credentialFiles() []string { return []string{j.cfg.Path} }

func (j *jwt) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	tok, err := readCredential(j.cfg.Path, "JWT")
	switch {
	case err == nil:
		if j.cfg.RemoveJWTAfterReading {
			if rerr := os.Remove(j.cfg.Path); rerr != nil && !os.IsNotExist(rerr) {
				return nil, fmt.Errorf("%w: remove JWT file %s: %v", ErrCredentials, j.cfg.Path, rerr)
			}
		}
		j.cached = tok
	case j.cached != "":
		tok = j.cached
	default:
		return nil, err
	}
	return loginWrite(ctx, c, j.mount+"/login", map[string]any{"role": j.cfg.Role, "jwt": tok})
}
