package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/lifetime"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// Lifecycle owns rotor's token: it logs in, hands each new token to
// OnToken, renews it, and logs in again before it dies, when renewal fails
// for good, or when a consumer reports Vault rejected it (Invalidate).
type Lifecycle struct {
	o    Options
	wake chan struct{}
	// creds wakes a login waiting out its backoff: a credential file was
	// replaced (CredentialsChanged), so the next attempt may succeed.
	creds chan struct{}
	// credsChanged tells keep that a wake-up came from a replaced token
	// file, not from Vault rejecting the token.
	credsChanged atomic.Bool

	mu  sync.Mutex
	cur *Token
	// dead says Vault rejected cur: a new login is under way.
	dead bool

	// cred holds the credential values the logins used, for redaction.
	cred credentials
}

// Options configure a Lifecycle. Client and one of Method or Static are required.
type Options struct {
	Client *api.Client // shared base client; never given a token
	Method Method      // nil: use Static and never log in
	Static *Token      // a token from the environment (VAULT_TOKEN)
	// Resume is a token saved by a previous run: it is looked up first
	// and used, without a login, if it still works.
	Resume *Token
	// Previous is the token of the lifecycle this one replaces (a config
	// reload changed the auth method): generations continue from it, and
	// its leases are re-fetched before it dies.
	Previous *Token
	// Namespace, if set, is used for the login request only.
	Namespace              string
	MinBackoff, MaxBackoff time.Duration
	ExitOnErr              bool
	// OnToken receives every new token before it is used elsewhere; an
	// error stops Run (e.g. a sink that cannot be written at start).
	OnToken func(context.Context, *Token) error
	Logger  *slog.Logger
	// Observe, if set, sees each login and renewal: event "login" or
	// "renew", outcome "success" or "failure" (for metrics).
	Observe func(event, outcome string)
	// OnRenewed, if set, receives the token after each renewal (its
	// Expires moved). It must not block.
	OnRenewed func(*Token)
	Clock     clock.Clock    // default clock.Real
	Rand      func() float64 // default math/rand/v2

	// WrapTTL, the method's wrap_ttl, asks Vault to response-wrap the
	// login answer: Run then hands the wrap info to OnWrapped and never
	// sees the token (OnToken is not called). See wrapped.go.
	WrapTTL   time.Duration
	OnWrapped func(context.Context, *api.SecretWrapInfo) error
}

// NewLifecycle builds a lifecycle; it starts nothing.
func NewLifecycle(o Options) *Lifecycle {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnToken == nil {
		o.OnToken = func(context.Context, *Token) error { return nil }
	}
	if o.Observe == nil {
		o.Observe = func(string, string) {}
	}
	if o.OnRenewed == nil {
		o.OnRenewed = func(*Token) {}
	}
	return &Lifecycle{o: o, wake: make(chan struct{}, 1), creds: make(chan struct{}, 1)}
}

// Token returns the current token, or nil before the first login.
func (l *Lifecycle) Token() *Token {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// Rejected reports that Vault rejected the current token and a new login
// is under way: rotor holds no usable token until it succeeds.
func (l *Lifecycle) Rejected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dead
}

// Invalidate tells the lifecycle that Vault rejected tok (HTTP 403): if tok
// is still the current token, a new login starts at once. It never blocks.
func (l *Lifecycle) Invalidate(tok *Token) {
	l.mu.Lock()
	current := l.cur != nil && tok != nil && l.cur.Generation == tok.Generation
	l.mu.Unlock()
	if current {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// CredentialsChanged tells the lifecycle that one of its method's
// credential files was replaced: a login waiting out its backoff is tried
// at once, and a token read from a file (token_file) is replaced by the
// new one. Other methods read their files at each login anyway, so their
// current token stays. It never blocks.
func (l *Lifecycle) CredentialsChanged() {
	select {
	case l.creds <- struct{}{}:
	default:
	}
	if _, borrowed := l.o.Method.(borrower); borrowed && l.Token() != nil {
		l.credsChanged.Store(true)
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// CredentialFiles lists the files the method reads its credentials from
// (watched by the agent; see CredentialsChanged).
func (l *Lifecycle) CredentialFiles() []string {
	if f, ok := l.o.Method.(interface{ credentialFiles() []string }); ok {
		return f.credentialFiles()
	}
	return nil
}

// ErrStaticTokenGone is returned when the token from the environment is
// revoked or expires: without auto_auth there is no way to get another.
var ErrStaticTokenGone = errors.New("the token from VAULT_TOKEN expired or was revoked, and there is no auto_auth method to get a new one")

// Run logs in and keeps the token alive until ctx is done (then it
// returns nil) or a fatal error: a login failure with exit_on_err, a
// configuration error (TLS) before the first token, or an OnToken error.
// Login failures otherwise back off between MinBackoff and MaxBackoff,
// with jitter, forever; a Retry-After from Vault is honoured. Each login
// is one request: the client's own retries are off (vaulterr.Prepare),
// this loop is the only one that retries.
func (l *Lifecycle) Run(ctx context.Context) error {
	if l.o.WrapTTL > 0 {
		return l.runWrapped(ctx) // wrapped.go: a wrapped login, no token to keep
	}
	log := l.o.Logger
	b := backoff.New(l.o.MinBackoff, l.o.MaxBackoff).WithRand(l.o.Rand)
	gen := 0
	var prevDeath time.Time
	if p := l.o.Previous; p != nil {
		gen, prevDeath = p.Generation, p.Expires
		if prevDeath.IsZero() {
			prevDeath = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) // never expires
		}
	}
	for ctx.Err() == nil {
		tok, err := l.login(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			l.o.Observe("login", "failure")
			class := loginClass(err)
			// A TLS setting that does not fit the server fails the same
			// way every time: say so at start instead of retrying
			// forever. Once rotor has worked, the same error means the
			// server changed, and retrying keeps what rotor holds alive.
			// Vault's answer (or a proxy's) may quote the request:
			// the credentials never show.
			err = l.cred.redact(err)
			if l.o.ExitOnErr || l.o.Method == nil || (class == vaulterr.Config && l.Token() == nil) {
				return fmt.Errorf("auto_auth: %w", err)
			}
			d := b.Next()
			if ra, ok := vaulterr.RetryAfter(err); ok {
				d = max(d, ra)
			}
			log.Warn("login failed", "error", err, "error_class", class.String(), "retry_in", d.Round(time.Millisecond))
			// A replaced credential file (a new secret_id, say) cuts the
			// wait short: the next attempt may succeed.
			if woken, err := clock.Wait(ctx, l.o.Clock, l.o.Clock.Now().Add(d), l.creds); err != nil {
				return nil
			} else if woken {
				log.Info("a credential file changed; logging in now")
			}
			continue
		}
		b.Reset()
		l.o.Observe("login", "success")
		gen++
		tok.Generation, tok.PrevDeath = gen, prevDeath
		if !prevDeath.IsZero() && !prevDeath.After(l.o.Clock.Now()) {
			tok.PrevDeath = time.Time{}
		}
		log.Info("authenticated", "accessor", tok.Accessor, "ttl", tok.CreationTTL, "renewable", tok.Renewable, "policies", tok.Policies)
		l.set(tok)
		// A wake-up sent for the previous token is stale now, and so is
		// the flag saying it came from the token file: left set, it would
		// make keep take a later rejection for a file change.
		select {
		case <-l.wake:
		default:
		}
		l.credsChanged.Store(false)
		if err := l.o.OnToken(ctx, tok); err != nil {
			return err
		}
		prevDeath = time.Time{}
		if l.keep(ctx, tok) {
			prevDeath = l.Token().Expires
		}
	}
	return nil
}

func (l *Lifecycle) set(t *Token) {
	l.mu.Lock()
	l.cur, l.dead = t, false
	l.mu.Unlock()
}

func (l *Lifecycle) login(ctx context.Context) (*Token, error) {
	ctx = context.WithValue(ctx, credsKey{}, &l.cred)
	if l.o.Static != nil {
		noteCredential(ctx, l.o.Static.Value())
	}
	if r := l.o.Resume; r != nil {
		noteCredential(ctx, r.Value())
		l.o.Resume = nil // one try
		tok, err := l.lookup(ctx, r)
		if err == nil && tok.Accessor == r.Accessor {
			tok.Resumed, tok.Borrowed = true, r.Borrowed
			return tok, nil
		}
		l.o.Logger.Info("the saved token is no longer valid; logging in", "accessor", r.Accessor)
	}
	if l.o.Method == nil {
		if l.Token() != nil {
			return nil, ErrStaticTokenGone
		}
		return l.lookupStatic(ctx)
	}
	c, err := l.o.Client.CloneWithHeaders()
	if err != nil {
		return nil, fmt.Errorf("clone vault client: %w", err)
	}
	c.ClearToken()
	// Vault Agent too turns the client's retries off for logins: a
	// login retried by the client and again by Run would hit Vault (and
	// its login rate limits) num_retries times per attempt.
	vaulterr.Prepare(c)
	if l.o.Namespace != "" {
		c.SetNamespace(l.o.Namespace)
	}
	tctx, annotate := vaulterr.Track(ctx)
	s, err := l.o.Method.Login(tctx, c)
	if err != nil {
		return nil, annotate(err)
	}
	tok := NewToken(s, l.o.Clock.Now())
	_, tok.Borrowed = l.o.Method.(borrower)
	return tok, nil
}

// borrower is implemented by methods that use an existing token instead
// of logging in (token_file): rotor never revokes such a token.
type borrower interface{ borrowsToken() }

// lookupStatic learns the TTL of the environment's token.
func (l *Lifecycle) lookupStatic(ctx context.Context) (*Token, error) {
	tok, err := l.lookup(ctx, l.o.Static)
	if err != nil {
		return nil, fmt.Errorf("look up the token from VAULT_TOKEN: %w", err)
	}
	tok.Borrowed = true
	return tok, nil
}

// lookup learns a known token's TTL and renewability from Vault.
func (l *Lifecycle) lookup(ctx context.Context, t *Token) (*Token, error) {
	c, err := l.tokenClient(t)
	if err != nil {
		return nil, err
	}
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, err
	}
	accessor, _ := s.TokenAccessor()
	ttl, _ := s.TokenTTL()
	renewable, _ := s.TokenIsRenewable()
	policies, _ := s.TokenPolicies()
	tok := NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: t.Value(), Accessor: accessor,
		LeaseDuration: int(ttl.Seconds()), Renewable: renewable, Policies: policies}}, l.o.Clock.Now())
	if t.CreationTTL > 0 {
		tok.CreationTTL = t.CreationTTL // renewals ask for the login's TTL, not what is left
	}
	// A periodic token's renewals grant its period, whatever they ask:
	// measured against the ask, a period below it would look capped.
	tok.Period = seconds(s.Data["period"])
	tok.Kind = lifetime.KindOf(t.Value(), tok.Period)
	return tok, nil
}

// seconds reads a lookup's duration field (a JSON number of seconds);
// zero when absent.
func seconds(v any) time.Duration {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil && i > 0 {
			return time.Duration(i) * time.Second
		}
	}
	return 0
}

func (l *Lifecycle) tokenClient(t *Token) (*api.Client, error) {
	c, err := l.o.Client.CloneWithHeaders()
	if err != nil {
		return nil, fmt.Errorf("clone vault client: %w", err)
	}
	c.SetToken(t.Value())
	vaulterr.Prepare(c) // keep and Run retry, with their backoff
	return c, nil
}

// keep renews tok until it is time to log in again, or ctx is done. It
// reports whether the token is still alive then (a planned re-login, whose
// leases live until the token's end) or dead (rejected by Vault).
func (l *Lifecycle) keep(ctx context.Context, tok *Token) (alive bool) {
	log := l.o.Logger
	b := backoff.New(l.o.MinBackoff, l.o.MaxBackoff).WithRand(l.o.Rand)
	for {
		act, at := tok.next(l.o.Rand())
		if act == lifetime.NoAction {
			at = time.Time{} // wait for an Invalidate only
		}
		if woken, err := clock.Wait(ctx, l.o.Clock, at, l.wake); err != nil {
			return false
		} else if woken {
			if l.credsChanged.Swap(false) {
				// token_file: the old token is not known to be dead.
				log.Info("the token file changed; using the new token", "accessor", tok.Accessor)
				return true
			}
			log.Warn("token rejected by Vault; logging in again", "accessor", tok.Accessor)
			l.markDead()
			l.retire(ctx, tok)
			return false
		}
		if act == lifetime.Replace {
			log.Info("token near its end; logging in again", "accessor", tok.Accessor, "expires", tok.Expires, "capped", tok.Capped)
			return true
		}
		sec, err := l.renew(ctx, tok)
		now := l.o.Clock.Now()
		switch {
		case err == nil && sec != nil && sec.Auth != nil:
			l.o.Observe("renew", "success")
			b.Reset()
			tok = tok.renewed(time.Duration(sec.Auth.LeaseDuration)*time.Second, sec.Auth.Renewable, now)
			l.set(tok)
			l.o.OnRenewed(tok)
			log.Debug("token renewed", "accessor", tok.Accessor, "ttl", tok.Expires.Sub(now).Round(time.Second), "capped", tok.Capped)
			continue
		case ctx.Err() != nil:
			return false
		}
		l.o.Observe("renew", "failure")
		class := vaulterr.Classify(err)
		switch {
		case class == vaulterr.Denied || class == vaulterr.BadToken:
			// renew-self is allowed to every live token: a 403 is the
			// token itself being dead.
			log.Warn("token rejected by Vault on renewal; logging in again", "accessor", tok.Accessor)
			l.markDead()
			return false
		case class.Permanent() && l.o.Method != nil:
			// Vault will not renew this token (e.g. no longer renewable):
			// it lives until it expires; a new login replaces it now. (A
			// VAULT_TOKEN, which cannot be replaced, is used to its end.)
			log.Warn("Vault refuses to renew the token; logging in again", "accessor", tok.Accessor, "error", err)
			return true
		}
		d := b.Next()
		if ra, ok := vaulterr.RetryAfter(err); ok {
			d = max(d, ra)
		}
		if !now.Add(d).Before(tok.Expires) {
			log.Warn("token renewal failed and the token is about to expire; logging in again", "error", err)
			return true
		}
		log.Warn("token renewal failed", "error", err, "error_class", class.String(), "retry_in", d.Round(time.Millisecond))
		if clock.Sleep(ctx, l.o.Clock, d) != nil {
			return false
		}
		// The next decision is in the past: renew at once.
	}
}

func (l *Lifecycle) markDead() {
	l.mu.Lock()
	l.dead = true
	l.mu.Unlock()
}

// retire revokes a token rotor created and is replacing because Vault
// rejected it: if the rejection was wrong (a policy change made a lookup
// fail while the token lives), the token and its leases would otherwise
// stay alive, unused, until they expire. A dead token's revocation fails
// harmlessly. A borrowed token (token_file, VAULT_TOKEN) is never revoked.
func (l *Lifecycle) retire(ctx context.Context, tok *Token) {
	if tok.Borrowed {
		return
	}
	c, err := l.tokenClient(tok)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Auth().Token().RevokeSelfWithContext(ctx, ""); err == nil {
		l.o.Logger.Info("revoked the replaced token", "accessor", tok.Accessor)
	}
}

func (l *Lifecycle) renew(ctx context.Context, tok *Token) (*api.Secret, error) {
	c, err := l.tokenClient(tok)
	if err != nil {
		return nil, err
	}
	ctx, annotate := vaulterr.Track(ctx)
	sec, err := c.Auth().Token().RenewSelfWithContext(ctx, int(tok.CreationTTL.Seconds()))
	return sec, annotate(err)
}
