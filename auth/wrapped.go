package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// A method's wrap_ttl (Vault Agent's auto_auth method wrap_ttl) asks Vault
// to response-wrap the login answer. The reader of the one sink then
// unwraps it, checking that it was made at the expected login path
// (creation_path), which a token wrapped by rotor afterwards could not
// prove. rotor holds only the wrapping token: it never sees the token
// inside, so it cannot renew it, revoke it, or use it for templates.

// wrapTTLKey carries the wrap_ttl of one login from runWrapped to
// loginWrite through the method's Login, so that only the login request
// itself is wrapped (not, say, approle's unwrapping of its secret_id).
type wrapTTLKey struct{}

// runWrapped is Run for a method with wrap_ttl, as Vault Agent does it:
// log in (retrying with backoff like any login), hand the wrap info to
// OnWrapped, then wait for ctx. There is nothing to renew, and no new
// login either: Vault Agent logs in again only when the method reports new
// credentials and enable_reauth_on_new_credentials is set, which rotor
// does not implement. A restart writes a fresh wrapped token.
func (l *Lifecycle) runWrapped(ctx context.Context) error {
	log := l.o.Logger
	if _, borrowed := l.o.Method.(borrower); borrowed || l.o.Method == nil {
		return errors.New("auto_auth: the method's wrap_ttl needs a login to wrap, and token_file (or VAULT_TOKEN) does not log in")
	}
	if l.o.OnWrapped == nil {
		return errors.New("auto_auth: wrap_ttl is set but nothing takes the wrapped token")
	}
	b := backoff.New(l.o.MinBackoff, l.o.MaxBackoff).WithRand(l.o.Rand)
	for ctx.Err() == nil {
		info, err := l.wrappedLogin(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.o.Observe("login", "failure")
			class := loginClass(err)
			err = l.cred.redact(err)
			if l.o.ExitOnErr {
				return fmt.Errorf("auto_auth: %w", err)
			}
			d := b.Next()
			log.Warn("login failed", "error", err, "error_class", class.String(), "retry_in", d.Round(time.Millisecond))
			if clock.Sleep(ctx, l.o.Clock, d) != nil {
				return nil
			}
			continue
		}
		l.o.Observe("login", "success")
		log.Info("authenticated; the login answer is response-wrapped for the sink's reader, so rotor does not renew or revoke the token",
			"wrap_accessor", info.Accessor, "wrap_ttl", time.Duration(info.TTL)*time.Second, "creation_path", info.CreationPath)
		if err := l.o.OnWrapped(ctx, info); err != nil {
			return err
		}
		<-ctx.Done()
	}
	return nil
}

// wrappedLogin logs in with a response-wrapped answer and returns its wrap info.
func (l *Lifecycle) wrappedLogin(ctx context.Context) (*api.SecretWrapInfo, error) {
	c, err := l.o.Client.CloneWithHeaders()
	if err != nil {
		return nil, fmt.Errorf("clone vault client: %w", err)
	}
	c.ClearToken()
	vaulterr.Prepare(c) // one request per attempt: this loop owns the retries
	if l.o.Namespace != "" {
		c.SetNamespace(l.o.Namespace)
	}
	ctx = context.WithValue(ctx, credsKey{}, &l.cred)
	s, err := l.o.Method.Login(context.WithValue(ctx, wrapTTLKey{}, l.o.WrapTTL), c)
	if err != nil {
		return nil, err
	}
	if s == nil || s.WrapInfo == nil || s.WrapInfo.Token == "" {
		return nil, errors.New("the login answer from Vault is not response-wrapped")
	}
	return s.WrapInfo, nil
}

// wrappedLoginWrite is loginWrite for a login whose answer Vault must
// wrap: the wrapping applies to this one request, on a copy of c.
func wrappedLoginWrite(ctx context.Context, c *api.Client, path string, data map[string]any, ttl time.Duration) (*api.Secret, error) {
	wc, err := c.CloneWithHeaders()
	if err != nil {
		return nil, fmt.Errorf("clone vault client: %w", err)
	}
	wc.SetWrappingLookupFunc(func(_, p string) string {
		if p == path {
			return ttl.String()
		}
		return ""
	})
	s, err := wc.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		return nil, fmt.Errorf("login at %s: %w", path, err)
	}
	if s == nil || s.WrapInfo == nil || s.WrapInfo.Token == "" {
		return nil, fmt.Errorf("login at %s: Vault's answer has no wrapped token", path)
	}
	return s, nil
}
