package agent

import (
	"context"
	"time"
)

// revokeTimeout bounds the revocation requests made while stopping.
const revokeTimeout = 30 * time.Second

// revokeOnShutdown revokes what revoke_on_shutdown (or a template's
// override) and revoke_token_on_shutdown ask for. Vault also revokes a
// token's leases with the token, so lease revocations that the policy
// refuses are not an error when the token is revoked next.
func (a *Agent) revokeOnShutdown() {
	var overrides map[string]bool
	if r := a.templates(); r != nil {
		overrides = r.RevokeOverrides()
	}
	s := a.settings()
	revokeToken := s.revokeTokenOnShutdown && s.auth != nil
	if !s.revokeOnShutdown && len(overrides) == 0 && !revokeToken {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
	defer cancel()
	log := a.log.With("component", "lease")
	want := func(k string) bool {
		if v, ok := overrides[k]; ok {
			return v
		}
		return s.revokeOnShutdown
	}
	n, err := a.store.Revoke(ctx, want)
	switch {
	case err != nil && revokeToken:
		log.Debug("some leases could not be revoked one by one; they go with the token", "error", err)
	case err != nil:
		log.Warn("some leases could not be revoked (the token needs update on sys/leases/revoke)", "error", err)
	}
	if n > 0 {
		log.Info("leases revoked on shutdown", "count", n)
	}
	if !revokeToken {
		return
	}
	tok := a.lifecycle().Token()
	if tok == nil {
		return
	}
	if tok.Borrowed {
		// token_file or VAULT_TOKEN: the token, its children and their
		// leases belong to whoever created it.
		a.log.Info("token not revoked: rotor did not create it", "component", "auth", "accessor", tok.Accessor)
		return
	}
	c, err := a.client.CloneWithHeaders()
	if err != nil {
		return
	}
	c.SetToken(tok.Value())
	if err := c.Auth().Token().RevokeSelfWithContext(ctx, ""); err != nil {
		a.log.Warn("could not revoke rotor's token", "component", "auth", "accessor", tok.Accessor, "error", err)
		return
	}
	a.log.Info("token revoked on shutdown (with its leases)", "component", "auth", "accessor", tok.Accessor)
}
