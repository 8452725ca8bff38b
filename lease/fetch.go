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

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/lifetime"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// fetched is one answer from Vault, classified.
type fetched struct {
	val      Value
	timing   Timing
	leaseID  string
	leaseTTL time.Duration
}

// ErrNoSecret is returned when Vault has nothing at a path: class
// NotFound, a permanent failure.
var ErrNoSecret = vaulterr.New(vaulterr.NotFound, "no secret at this path")

// ErrNoToken is returned by Fetch before the first login: class NoToken.
var ErrNoToken = vaulterr.New(vaulterr.NoToken, "no Vault token yet")

// fetch asks Vault for r with client c, whose token owns what it gets.
// Each request holds one slot, queued by prio. Errors name the secret.
func (s *Store) fetch(ctx context.Context, c *api.Client, r Ref, prio time.Time) (fetched, error) {
	sec, err := s.request(ctx, c, r, prio)
	if err != nil {
		// Classified here, so every error a fetch returns carries its
		// class (a mount lookup or a queue wait fails before Track).
		return fetched{}, fmt.Errorf("%s: %w", r, vaulterr.Wrap(err))
	}
	now := s.o.Clock.Now()
	var res fetched
	if r.Kind == KindList {
		res.val.List = listKeys(sec)
		res.timing = Timing{Class: ClassStatic, Issued: now}
		return res, nil
	}
	res.val.Secret = fromAPI(sec)
	res.timing, res.leaseID, res.leaseTTL = classify(r, sec, now)
	return res, nil
}

func (s *Store) request(ctx context.Context, c *api.Client, r Ref, prio time.Time) (*api.Secret, error) {
	path := r.Path
	if r.Kind == KindRead || r.Kind == KindList {
		p, err := s.kvPath(ctx, c, r.Path, r.Kind, prio)
		if err != nil {
			return nil, err
		}
		path = p
	}
	if err := s.slots.acquire(ctx, prio); err != nil {
		return nil, err
	}
	defer s.slots.release()
	ctx, annotate := vaulterr.Track(ctx)
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
		return nil, annotate(err)
	}
	if sec == nil && r.Kind == KindList {
		// Vault answers a list of nothing with 404: an empty list, as
		// Vault Agent renders it.
		return &api.Secret{Data: map[string]any{}}, nil
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
		return Timing{Class: ClassLease, Issued: now, Born: now, Expires: lifetime.Expiry(now, ttl), Renewable: sec.Renewable}, sec.LeaseID, ttl
	}
	if strings.Contains(r.Path, "static-creds/") {
		if secs, ok := number(sec.Data["ttl"]); ok {
			return Timing{Class: ClassRotating, Issued: now, RotatesAt: now.Add(time.Duration(secs) * time.Second)}, "", 0
		}
	}
	return Timing{Class: ClassStatic, Issued: now}, "", 0
}

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

func deletedKVv2(s *api.Secret, now time.Time) bool {
	md, ok := s.Data["metadata"].(map[string]any)
	if !ok {
		return false
	}
	dt, _ := md["deletion_time"].(string)
	t, err := time.Parse(time.RFC3339, dt)
	return err == nil && !t.IsZero() && now.After(t)
}

func sameValue(a, b Value) bool {
	if a.Secret == nil || b.Secret == nil {
		return a.Secret == b.Secret && reflect.DeepEqual(a.List, b.List)
	}
	return reflect.DeepEqual(a.Secret.Data, b.Secret.Data)
}
