package auth

import (
	"context"
	"fmt"

	"github.com/hashicorp/vault/api"
)

// tokenFile uses a token that already exists, read from a file. There is
// no login: the token is looked up to learn its TTL and whether it renews,
// and its lookup answer is shaped like a login answer.
type tokenFile struct {
	path string
}

// borrowsToken marks the token as someone else's: never revoked by rotor.
func (*tokenFile) borrowsToken() {}

func (t *tokenFile) credentialFiles() []string { return []string{t.path} }

func (t *tokenFile) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	tok, err := readCredential(t.path, "token")
	if err != nil {
		return nil, err
	}
	noteCredential(ctx, tok)
	c.SetToken(tok)
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("look up the token from %s: %w", t.path, err)
	}
	accessor, _ := s.TokenAccessor()
	ttl, _ := s.TokenTTL()
	renewable, _ := s.TokenIsRenewable()
	policies, _ := s.TokenPolicies()
	return &api.Secret{Auth: &api.SecretAuth{
		ClientToken:   tok,
		Accessor:      accessor,
		LeaseDuration: int(ttl.Seconds()),
		Renewable:     renewable,
		Policies:      policies,
	}}, nil
}
