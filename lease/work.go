package lease

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// perform is a worker: it does j's Vault request, within the time
// RequestTimeout gives it, and classifies the failure. A request still
// running at its timeout is cancelled (abandoned): Run then plans a fetch
// of a new secret or a retry.
func (s *Store) perform(ctx context.Context, j job) outcome {
	o := outcome{j: j}
	timeout := RequestTimeout(j.op, s.o.Clock.Now(), j.deadline)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case j.tracked:
		o.granted, o.renewable, o.err = s.renewTracked(rctx, j)
	case j.op == OpRenew:
		o.granted, o.renewable, o.err = s.renewLease(rctx, j)
	default:
		o.res, o.err = s.fetch(rctx, j.c, j.ref, j.prio)
	}
	o.at = s.o.Clock.Now()
	if o.err == nil {
		return o
	}
	o.class = vaulterr.Classify(o.err)
	switch {
	case ctx.Err() != nil:
		o.class = vaulterr.Canceled // Run is stopping
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		o.class, o.timedOut = vaulterr.Unavailable, true
	case o.class == vaulterr.Denied && !j.borrowed:
		o.class = s.checkToken(ctx, j.c, j.tok)
	case o.class == vaulterr.Denied:
		// A listener client's token was refused (it revoked itself, or it
		// expired): its proxied lease is released; rotor's own token is
		// not in question, and a client must never make rotor log in.
		o.class = vaulterr.BadToken
	}
	// The error carries what was learnt about it, for whoever reads it.
	o.err = vaulterr.WithClass(o.err, o.class)
	return o
}

// renewLease asks Vault to extend j's lease by the TTL first granted.
func (s *Store) renewLease(ctx context.Context, j job) (time.Duration, bool, error) {
	if err := s.slots.acquire(ctx, j.prio); err != nil {
		return 0, false, err
	}
	defer s.slots.release()
	ctx, annotate := vaulterr.Track(ctx)
	sec, err := j.c.Sys().RenewWithContext(ctx, j.leaseID, int(j.leaseTTL.Seconds()))
	if err != nil {
		return 0, false, fmt.Errorf("renew lease of %s: %w", j.ref, annotate(err))
	}
	if sec == nil {
		return 0, false, fmt.Errorf("renew lease of %s: empty answer", j.ref)
	}
	return time.Duration(sec.LeaseDuration) * time.Second, sec.Renewable, nil
}

// checkToken tells a dead token (403 on lookup-self: BadToken, and
// InvalidToken is called) from a policy denial (the token is fine:
// Denied, which is permanent). It answers Unavailable when Vault cannot
// tell now. Concurrent checks of one token share one request, which goes
// first in the queue.
func (s *Store) checkToken(ctx context.Context, c *api.Client, tok *auth.Token) vaulterr.Class {
	v, _, _ := s.flight.Do("check-token:"+strconv.Itoa(tok.Generation), func() (any, error) {
		ctx, cancel := context.WithTimeout(ctx, MinFetchTimeout)
		defer cancel()
		if err := s.slots.acquire(ctx, s.o.Clock.Now()); err != nil {
			return vaulterr.Unavailable, nil
		}
		defer s.slots.release()
		_, err := c.Auth().Token().LookupSelfWithContext(ctx)
		switch vaulterr.Classify(err) {
		case vaulterr.None:
			return vaulterr.Denied, nil
		case vaulterr.Denied, vaulterr.BadToken:
			s.o.Logger.Warn("Vault rejects the token; asking for a new login", "accessor", tok.Accessor)
			s.o.InvalidToken(tok)
			return vaulterr.BadToken, nil
		}
		return vaulterr.Unavailable, nil
	})
	return v.(vaulterr.Class)
}

// revokeTimeout bounds the revocation of a replaced lease.
const revokeTimeout = 30 * time.Second

// revokeOld revokes a lease a forced rotation replaced. Best effort: the
// templates are not rendered yet, so a failure only leaves the old lease
// to expire. It queues behind every secret that has a deadline.
func (s *Store) revokeOld(ctx context.Context, c *api.Client, leaseID string, r Ref) {
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	if err := s.slots.acquire(ctx, s.o.Clock.Now().Add(24*time.Hour)); err != nil {
		return
	}
	defer s.slots.release()
	if err := c.Sys().RevokeWithContext(ctx, leaseID); err != nil {
		s.o.Logger.Warn("could not revoke the replaced lease", "secret", r.String(), "error", err)
		return
	}
	s.o.Logger.Info("replaced lease revoked", "secret", r.String())
}
