package lease

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/consul-template/dependency"
	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
)

// fetched is one answer from Vault, classified.
type fetched struct {
	val      Value
	timing   Timing
	leaseID  string
	leaseTTL time.Duration
	tokenGen int
}

// ErrNoSecret is returned when Vault has nothing at a path.
var ErrNoSecret = errors.New("no secret at this path")

// fetch asks Vault for r with the current token. It holds one slot of the
// request semaphore per request.
func (s *Store) fetch(ctx context.Context, r Ref) (fetched, error) {
	s.mu.Lock()
	c, tok := s.client, s.tok
	s.mu.Unlock()
	if c == nil {
		return fetched{}, errors.New("no Vault token yet")
	}
	sec, err := s.request(ctx, c, r)
	if err != nil {
		if auth.IsForbidden(err) {
			s.checkToken(ctx, c, tok)
		}
		return fetched{}, fmt.Errorf("%s: %w", r, err)
	}
	now := s.o.Clock.Now()
	res := fetched{tokenGen: tok.Generation}
	if r.Kind == KindList {
		res.val.List = listKeys(sec)
		res.timing = Timing{Class: ClassStatic, Issued: now}
		return res, nil
	}
	res.val.Secret = toDependency(sec)
	res.timing, res.leaseID, res.leaseTTL = classify(r, sec, now)
	return res, nil
}

func (s *Store) request(ctx context.Context, c *api.Client, r Ref) (*api.Secret, error) {
	path := r.Path
	if r.Kind == KindRead {
		p, err := s.kvPath(ctx, c, r.Path)
		if err != nil {
			return nil, err
		}
		path = p
	}
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	var sec *api.Secret
	var err error
	switch r.Kind {
	case KindRead:
		sec, err = c.Logical().ReadWithDataWithContext(ctx, path, r.Query)
	case KindWrite:
		data := make(map[string]any, len(r.Data))
		for k, v := range r.Data {
			data[k] = v
		}
		sec, err = c.Logical().WriteWithContext(ctx, path, data)
	case KindList:
		sec, err = c.Logical().ListWithContext(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	if sec == nil || (r.Kind == KindRead && deletedKVv2(sec, s.o.Clock.Now())) {
		return nil, ErrNoSecret
	}
	return sec, nil
}

// classify decides how a secret's life is measured.
func classify(r Ref, sec *api.Secret, now time.Time) (Timing, string, time.Duration) {
	ttl := time.Duration(sec.LeaseDuration) * time.Second
	if certPEM, ok := sec.Data["certificate"].(string); ok {
		if nb, na, err := certValidity(certPEM); err == nil {
			return Timing{Class: ClassCert, Issued: now, NotBefore: nb, NotAfter: na}, sec.LeaseID, ttl
		}
	}
	if sec.LeaseID != "" {
		return Timing{Class: ClassLease, Issued: now, Expires: now.Add(safeTTL(ttl)), Renewable: sec.Renewable}, sec.LeaseID, ttl
	}
	if strings.Contains(r.Path, "static-creds/") {
		if secs, ok := number(sec.Data["ttl"]); ok {
			return Timing{Class: ClassRotating, Issued: now, RotatesAt: now.Add(time.Duration(secs) * time.Second)}, "", 0
		}
	}
	return Timing{Class: ClassStatic, Issued: now}, "", 0
}

// safeTTL counts a TTL as one second shorter (Vault rounds to seconds and
// counts from before its answer arrived), never by more than half.
func safeTTL(ttl time.Duration) time.Duration { return ttl - min(time.Second, ttl/2) }

func certValidity(certPEM string) (time.Time, time.Time, error) {
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return time.Time{}, time.Time{}, errors.New("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return c.NotBefore, c.NotAfter, nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func listKeys(sec *api.Secret) []string {
	raw, _ := sec.Data["keys"].([]any)
	out := make([]string, 0, len(raw))
	for _, k := range raw {
		if s, ok := k.(string); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// toDependency gives templates the exact shape consul-template does.
func toDependency(s *api.Secret) *dependency.Secret {
	d := &dependency.Secret{
		RequestID:     s.RequestID,
		LeaseID:       s.LeaseID,
		LeaseDuration: s.LeaseDuration,
		Renewable:     s.Renewable,
		Data:          s.Data,
		Warnings:      s.Warnings,
	}
	if a := s.Auth; a != nil {
		d.Auth = &dependency.SecretAuth{ClientToken: a.ClientToken, Accessor: a.Accessor, Policies: a.Policies,
			Metadata: a.Metadata, LeaseDuration: a.LeaseDuration, Renewable: a.Renewable}
	}
	if w := s.WrapInfo; w != nil {
		d.WrapInfo = &dependency.SecretWrapInfo{Token: w.Token, TTL: w.TTL, CreationTime: w.CreationTime, WrappedAccessor: w.WrappedAccessor}
	}
	return d
}

func deletedKVv2(s *api.Secret, now time.Time) bool {
	md, ok := s.Data["metadata"].(map[string]any)
	if !ok {
		return false
	}
	dt, _ := md["deletion_time"].(string)
	t, err := time.Parse(time.RFC3339, dt)
	return err == nil && !t.IsZero() && now.After(t)
}

// act performs e's due action; it reports whether e's value changed.
func (s *Store) act(ctx context.Context, e *entry) (changed bool) {
	defer func() {
		s.mu.Lock()
		e.busy = false
		s.mu.Unlock()
	}()
	log := s.o.Logger.With("secret", e.ref.String())
	if e.action == ActionRenew && !e.forced {
		if err := s.renew(ctx, e); err == nil {
			return false
		} else if ctx.Err() != nil {
			return false
		} else {
			log.Warn("lease renewal failed; fetching a new secret", "error", err)
		}
	}
	res, err := s.fetch(ctx, e.ref)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		e.lastErr = err
		d := e.b.Next()
		e.action, e.next = ActionRefetch, s.o.Clock.Now().Add(d)
		log.Warn("secret refresh failed", "error", err, "retry_in", d.Round(time.Millisecond))
		return false
	}
	old, oldLease, forced := e.val, e.leaseID, e.forced
	s.apply(e, res)
	e.forced = false
	changed = !sameValue(old, e.val)
	if forced && oldLease != "" && oldLease != e.leaseID {
		// A forced rotation is for a secret that may have leaked: the old
		// lease goes as soon as the new one is held. Best effort: the
		// templates are not rendered yet, so a failure only leaves the old
		// lease to expire.
		go s.revokeOld(oldLease, e.ref)
	}
	log.Debug("secret refreshed", "changed", changed, "class", e.timing.Class.String(), "next", e.action.String(), "at", e.next)
	return changed
}

// renew extends e's lease and reschedules it.
func (s *Store) renew(ctx context.Context, e *entry) error {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	s.sem <- struct{}{}
	sec, err := c.Sys().RenewWithContext(ctx, e.leaseID, int(e.leaseTTL.Seconds()))
	<-s.sem
	if err != nil {
		return err
	}
	now := s.o.Clock.Now()
	granted := time.Duration(sec.LeaseDuration) * time.Second
	s.mu.Lock()
	defer s.mu.Unlock()
	e.timing.Issued = now
	e.timing.Expires = now.Add(safeTTL(granted))
	e.timing.Renewable = sec.Renewable
	// Vault grants min(increment, time left before max TTL): a grant a
	// second or more short of the ask means renewal cannot go further.
	e.timing.Capped = granted+time.Second < e.leaseTTL
	if e.val.Secret != nil {
		e.val.Secret.LeaseDuration = sec.LeaseDuration
	}
	e.action, e.next = Next(e.timing, s.o.Policy, s.o.Rand())
	s.o.Logger.Debug("lease renewed", "secret", e.ref.String(), "ttl", granted, "capped", e.timing.Capped)
	return nil
}

func sameValue(a, b Value) bool {
	if a.Secret == nil || b.Secret == nil {
		return a.Secret == b.Secret && reflect.DeepEqual(a.List, b.List)
	}
	return reflect.DeepEqual(a.Secret.Data, b.Secret.Data)
}

// checkToken tells a dead token (403 on lookup-self) from a policy denial
// (403 on the path only). Concurrent checks share one request.
func (s *Store) checkToken(ctx context.Context, c *api.Client, tok *auth.Token) {
	_, _, _ = s.flight.Do("check-token", func() (any, error) {
		if _, err := c.Auth().Token().LookupSelfWithContext(ctx); auth.IsForbidden(err) {
			s.o.Logger.Warn("Vault rejects the token; asking for a new login", "accessor", tok.Accessor)
			s.o.InvalidToken(tok)
		}
		return nil, nil
	})
}

func (s *Store) revokeOld(leaseID string, r Ref) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Sys().RevokeWithContext(ctx, leaseID); err != nil {
		s.o.Logger.Warn("could not revoke the replaced lease", "secret", r.String(), "error", err)
		return
	}
	s.o.Logger.Info("replaced lease revoked", "secret", r.String())
}
