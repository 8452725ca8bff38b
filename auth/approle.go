package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/hashicorp/vault/api"
)

// appRole logs in with a role_id and secret_id read from files. The
// secret_id file may hold a response-wrapping token instead
// (secret_id_response_wrapping_path), which is unwrapped first after
// checking it was made at the expected path.
type appRole struct {
	mount string
	cfg   AppRoleOptions
	// cached keeps the secret_id once its file has been removed, so that
	// a re-login still works (as Vault Agent does).
	cached string
	log    *slog.Logger
}

func (a *appRole) credentialFiles() []string {
	out := []string{a.cfg.RoleIDFilePath}
	if a.cfg.SecretIDFilePath != "" {
		out = append(out, a.cfg.SecretIDFilePath)
	}
	return out
}

func (a *appRole) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	roleID, err := readCredential(a.cfg.RoleIDFilePath, "role_id")
	if err != nil {
		return nil, err
	}
	data := map[string]any{"role_id": roleID}
	if a.cfg.SecretIDFilePath != "" {
		secretID, err := a.secretID(ctx, c)
		if err != nil {
			return nil, err
		}
		data["secret_id"] = secretID
	}
	return loginWrite(ctx, c, a.mount+"/login", data)
}

func (a *appRole) secretID(ctx context.Context, c *api.Client) (string, error) {
	raw, err := readCredential(a.cfg.SecretIDFilePath, "secret_id")
	if err != nil {
		if a.cached != "" {
			return a.cached, nil
		}
		return "", err
	}
	secretID := raw
	if a.cfg.SecretIDResponseWrappingPath != "" {
		noteCredential(ctx, raw) // the wrapping token
		if secretID, err = a.unwrap(ctx, c, raw); err != nil {
			return "", err
		}
	}
	if a.cfg.RemoveSecretIDFileAfterReading {
		// A file that cannot be removed (a read-only /etc, say) is a
		// warning, not a reason to fail every login.
		if err := os.Remove(a.cfg.SecretIDFilePath); err != nil && !os.IsNotExist(err) && a.log != nil {
			a.log.Warn("could not remove the secret_id file after reading it; set remove_secret_id_file_after_reading = false to keep it on purpose",
				"path", a.cfg.SecretIDFilePath, "error", errors.Unwrap(err))
		}
	}
	a.cached = secretID
	return secretID, nil
}

// unwrap checks the wrapping token's creation path before unwrapping: a
// token wrapped elsewhere could smuggle in another role's secret_id.
func (a *appRole) unwrap(ctx context.Context, c *api.Client, wrapToken string) (string, error) {
	look, err := c.Logical().WriteWithContext(ctx, "sys/wrapping/lookup", map[string]any{"token": wrapToken})
	if err != nil {
		return "", fmt.Errorf("%w: look up the wrapped secret_id: %w", ErrCredentials, err)
	}
	want := a.cfg.SecretIDResponseWrappingPath
	if look == nil || look.Data["creation_path"] != trimSlash(want) {
		got := ""
		if look != nil {
			got, _ = look.Data["creation_path"].(string)
		}
		return "", fmt.Errorf("%w: wrapped secret_id was created at %q, expected %q", ErrCredentials, got, want)
	}
	s, err := c.Logical().UnwrapWithContext(ctx, wrapToken)
	if err != nil {
		return "", fmt.Errorf("%w: unwrap the secret_id: %w", ErrCredentials, err)
	}
	id, _ := s.Data["secret_id"].(string)
	if id == "" {
		return "", fmt.Errorf("%w: the unwrapped answer has no secret_id", ErrCredentials)
	}
	return id, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}
