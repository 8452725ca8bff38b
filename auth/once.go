package auth

import (
	"context"
	"errors"
	"fmt"
)

// LoginOnce gets a token as Run's first login does (the method's Login, or
// a lookup of o.Static), once: no retries, no renewal, no OnToken, and
// o.Resume and o.WrapTTL are ignored (the answer is never wrapped, so the
// caller holds the token itself). It is the login of one-shot checks
// (rotor validate -online); the caller must give the token back with
// Revoke. Errors name what failed, never a credential.
func LoginOnce(ctx context.Context, o Options) (*Token, error) {
	o.Resume, o.WrapTTL, o.OnWrapped = nil, 0, nil
	if o.Method == nil && o.Static == nil {
		return nil, errors.New("no auth method and no token")
	}
	l := NewLifecycle(o)
	tok, err := l.login(ctx)
	if err != nil {
		return nil, l.cred.redact(err)
	}
	return tok, nil
}

// Revoke revokes tok (revoke-self) unless it is borrowed (token_file,
// VAULT_TOKEN, a token given by the user): rotor never revokes a token it
// did not create. It reports whether tok was revoked.
func Revoke(ctx context.Context, o Options, tok *Token) (bool, error) {
	if tok == nil || tok.Borrowed {
		return false, nil
	}
	l := NewLifecycle(o)
	c, err := l.tokenClient(tok)
	if err != nil {
		return false, err
	}
	if err := c.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
		return false, fmt.Errorf("revoke the token (accessor %s): %w", tok.Accessor, err)
	}
	return true, nil
}
