package lease

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/clock"
	"github.com/rotorproject/rotor/internal/phases"
	"github.com/rotorproject/rotor/internal/vaulterr"
	"golang.org/x/sync/singleflight"
)

// entry is one secret the store holds. Guarded by Store.mu; while busy,
// only the fields a worker was given a copy of are in use elsewhere.
type entry struct {
	ref      Ref
	val      Value
	timing   Timing
	leaseID  string
	leaseTTL time.Duration // the TTL first granted: what renewals ask for
	owner    int           // generation of the token that fetched the lease
	op       Op
	next     time.Time
	planned  bool // false until Run has planned the next action
	busy     bool // an action is in flight
	waiting  bool // waits for Vault to answer again (probe.go)
	dephase  bool // planned by vaultBack: its next plan is dephased
	b        *backoff.Backoff
	slow     *backoff.Backoff // for permanent failures
	lastErr  error
	errClass vaulterr.Class
	forced   bool // Rotate asked for a new secret; revoke the old lease after
	// pol is the merged policy of the templates that asked for their own
	// (see Prefer); zero: the store's.
	pol Policy
	// tracked is set for a proxied lease or token (see Track): renewed
	// with its own token, never fetched again.
	tracked *Tracked
	// held is set for a superseded lease kept for an unconfirmed consumer
	// (hold.go); tracked is set too.
	held *holdInfo
}

// Options configure a Store.
type Options struct {
	Client      *api.Client // base client; the store sets the token on its own clone
	Policy      Policy
	MaxParallel int // connections to Vault (max_connections_per_host); see NewStore
	Clock       clock.Clock
	Rand        func() float64
	Logger      *slog.Logger
	// OnChange is called, from Run's goroutine, with the key of each
	// secret whose value changed after a re-fetch, as soon as that fetch
	// is done. It must not block.
	OnChange func(keys []string)
	// InvalidToken is called when Vault answers 403 and the token itself
	// turns out to be dead (so a new login is needed, not a policy fix).
	// It must not block.
	InvalidToken func(*auth.Token)
	// OnUpdate is called after any secret is fetched, renewed or
	// re-fetched (the state file is saved then). It must not block.
	OnUpdate func()
	// Phases, if set, times first fetches (benchmarks).
	Phases *phases.Recorder
}

// Store holds every secret rotor fetched, serves them to templates, and
// renews or re-fetches each before it expires. Fetch and Lookup may be
// called from any goroutine; Run must run for secrets to be kept alive.
//
// Every lease acts on its own: Run starts each due action in a worker of
// its own, earliest deadline first, and each Vault request has a timeout
// derived from the lease's remaining life (RequestTimeout), so a slow,
// hanging or failing request delays only its own secret.
type Store struct {
	o       Options
	wake    chan struct{}
	ready   chan struct{}
	slots   *slots // every Vault request the store makes holds one
	workers int    // Run's actions in flight at most
	flight  singleflight.Group
	mounts  mountCache

	mu      sync.Mutex
	entries map[string]*entry
	tok     *auth.Token
	client  *api.Client       // Options.Client with tok set, prepared by vaulterr
	deaths  map[int]time.Time // final deaths of replaced tokens, by generation
	done    []outcome         // finished actions, for Run
	// sleepUntil is when Run wakes up by itself next (zero: only when
	// poked), as of its last look at the entries (earliest).
	sleepUntil time.Time
	// valuesVer changes whenever a value is added or replaced (see
	// ValuesVersion).
	valuesVer uint64
	// guarded are the secrets whose replaced leases are held (hold.go);
	// holdSeq numbers the holds; revokes are released leases to revoke.
	guarded map[string]bool
	holdSeq uint64
	revokes []pendingRevoke
	probe   probe // Vault's health while it is unreachable (probe.go)
}

// NewStore builds a store; it starts nothing.
//
// MaxParallel is max_connections_per_host, which also caps the Vault
// client's connections. The store keeps one of them for the token's
// renewal and logins (which share the HTTP transport), so that hanging
// secret requests never hold every connection: it sends at most
// MaxParallel-1 requests at once (at least 1). Run's actions take at most
// one fewer than that, so a template's first fetch or a mount lookup
// always finds a slot even while renewals hang.
func NewStore(o Options) *Store {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxParallel <= 0 {
		o.MaxParallel = 10
	}
	if o.OnChange == nil {
		o.OnChange = func([]string) {}
	}
	if o.InvalidToken == nil {
		o.InvalidToken = func(*auth.Token) {}
	}
	if o.OnUpdate == nil {
		o.OnUpdate = func() {}
	}
	n := max(1, o.MaxParallel-1)
	return &Store{
		o:       o,
		wake:    make(chan struct{}, 1),
		ready:   make(chan struct{}),
		slots:   newSlots(n),
		workers: max(1, n-1),
		entries: map[string]*entry{},
		deaths:  map[int]time.Time{},
	}
}

// Ready is closed once the store has a token.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// SetToken gives the store a new token. Secrets whose leases die with the
// previous token are re-fetched ahead of its death (tok.PrevDeath), spread
// over time; all others keep their leases (a new login re-issues nothing
// needlessly).
func (s *Store) SetToken(tok *auth.Token) error {
	c, err := s.o.Client.CloneWithHeaders()
	if err != nil {
		return err
	}
	c.SetToken(tok.Value())
	// The scheduler retries each secret with its own backoff; the
	// client's retries would multiply those (docs/configuration.md, "Retries").
	vaulterr.Prepare(c)
	s.mu.Lock()
	prev := s.tok
	s.tok, s.client = tok, c
	if prev != nil && prev.Generation != tok.Generation {
		s.tokenReplaced(prev, tok)
	}
	s.mu.Unlock()
	if prev == nil {
		close(s.ready)
	}
	s.poke()
	return nil
}

// TokenRenewed tells the store the current token was renewed (its expiry
// moved). Status then shows when leases owned by a token that can no
// longer be renewed really end. It never blocks.
func (s *Store) TokenRenewed(tok *auth.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.Generation == tok.Generation {
		s.tok = tok
	}
}

// tokenReplaced records prev's death and plans the re-fetch of the
// leases that would outlive it. Called with s.mu held.
func (s *Store) tokenReplaced(prev, tok *auth.Token) {
	now := s.o.Clock.Now()
	death := tok.PrevDeath
	if death.IsZero() {
		death = now // revoked or rejected: its leases are gone already
	}
	s.deaths[prev.Generation] = death
	for g, d := range s.deaths {
		// A result from a token dead this long is treated as dead anyway.
		if d.Before(now.Add(-time.Hour)) {
			delete(s.deaths, g)
		}
	}
	var bound []*entry
	for _, e := range s.entries {
		if e.errClass == vaulterr.BadToken && !e.busy {
			e.next = now // it failed for want of a token: try the new one
		}
		if e.leaseID == "" || e.owner >= tok.Generation || e.tracked != nil {
			continue
		}
		s.bindOwner(e)
		switch {
		case e.busy:
		case Deadline(e.timing).Equal(e.timing.OwnerDeath):
			bound = append(bound, e)
		case e.lastErr == nil:
			// It ends before the old token, but renewing it is pointless
			// now: Run plans it again (Next fetches it anew).
			e.planned = false
		}
	}
	// A busy entry is planned when its result comes back (Run's finish
	// binds it to its owner's death then), so it cannot slip past it.
	sort.Slice(bound, func(i, j int) bool { return bound[i].ref.Key() < bound[j].ref.Key() })
	for i, e := range bound {
		at := TokenBoundAt(now, death, i, len(bound))
		if !e.planned || at.Before(e.next) {
			e.next = at
		}
		e.op, e.planned = OpRefetch, true
	}
	if len(bound) > 0 {
		s.o.Logger.Info("re-fetching secrets that die with the previous token", "count", len(bound), "token_dies", death)
	}
}

// ownerDeath is the final death of the token of generation gen: zero for
// the current token, now for a token too old to be remembered. Called
// with s.mu held.
func (s *Store) ownerDeath(gen int) time.Time {
	if s.tok == nil || gen >= s.tok.Generation {
		return time.Time{}
	}
	if d, ok := s.deaths[gen]; ok {
		return d
	}
	return s.o.Clock.Now()
}

// bindOwner sets e's OwnerDeath from its owner token, keeping an earlier
// one (restored from the state file). Called with s.mu held.
func (s *Store) bindOwner(e *entry) {
	if e.leaseID == "" || e.tracked != nil {
		return // a proxied lease belongs to the token that asked for it
	}
	if d := s.ownerDeath(e.owner); !d.IsZero() && (e.timing.OwnerDeath.IsZero() || d.Before(e.timing.OwnerDeath)) {
		e.timing.OwnerDeath = d
	}
}

func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ValuesVersion changes whenever the store gains or replaces a value, so
// that what a caller derives from Values (a redaction set) can be kept
// until it changes. Read it before Values: a value added while Values
// runs changes it again.
func (s *Store) ValuesVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valuesVer
}

// Lookup returns the value of the secret with key, if the store has it.
func (s *Store) Lookup(key string) (Value, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return Value{}, false
	}
	return e.val, true
}

// Fetch gets every ref the store does not hold yet, concurrently and at
// most once each even when several callers ask together. Its requests go
// first among those waiting for a slot (a template is waiting on them),
// and each is bounded by MaxRequestTimeout. It blocks until all are done
// or ctx is done and returns the errors by key. Run plans what follows.
func (s *Store) Fetch(ctx context.Context, refs []Ref) map[string]error {
	var mu sync.Mutex
	errs := map[string]error{}
	fetch := func(r Ref, key string) {
		_, err, _ := s.flight.Do(key, func() (any, error) {
			if _, ok := s.Lookup(key); ok {
				return nil, nil
			}
			return nil, s.fetchNew(ctx, r)
		})
		if err != nil {
			mu.Lock()
			errs[key] = err
			mu.Unlock()
		}
	}
	var missing []Ref
	for _, r := range refs {
		if _, ok := s.Lookup(r.Key()); !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) == 1 {
		// The common case (a template reading one secret) runs in the
		// caller's goroutine, whose stack has grown already.
		fetch(missing[0], missing[0].Key())
		return errs
	}
	var wg sync.WaitGroup
	for _, r := range missing {
		wg.Go(func() { fetch(r, r.Key()) })
	}
	wg.Wait()
	return errs
}

func (s *Store) fetchNew(ctx context.Context, r Ref) error {
	s.mu.Lock()
	c, tok := s.client, s.tok
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%s: %w", r, ErrNoToken)
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRequestTimeout)
	defer cancel()
	defer s.o.Phases.End(phases.Fetch, s.o.Phases.Begin())
	res, err := s.fetch(ctx, c, r, s.o.Clock.Now())
	if err != nil {
		if vaulterr.Classify(err) == vaulterr.Denied && s.checkToken(ctx, c, tok) == vaulterr.BadToken {
			err = vaulterr.WithClass(err, vaulterr.BadToken)
		}
		return err
	}
	e := &entry{ref: r, owner: tok.Generation}
	e.val, e.timing, e.leaseID, e.leaseTTL = res.val, res.timing, res.leaseID, res.leaseTTL
	s.mu.Lock()
	// A new token may have come while this was in flight: the lease is
	// still its fetcher's (planEntry binds it to that token's death).
	// The entry is planned here, as Run would: Run is woken only if it
	// sleeps past the new entry's action. Waking it for every new secret
	// made it scan every entry once per fetch, quadratic in the number
	// of templates (5,000 templates: 0.6 s of CPU).
	s.planEntry(e)
	if first := FirstReread(e.timing, s.policy(e), s.o.Rand()); !first.IsZero() && first.Before(e.next) {
		e.next = first
	}
	wake := s.sleepUntil.IsZero() || e.next.Before(s.sleepUntil)
	s.entries[r.Key()] = e
	s.valuesVer++
	s.mu.Unlock()
	if wake {
		s.poke()
	}
	s.o.OnUpdate()
	return nil
}

// Backoffs of one secret: transient failures retry within seconds,
// permanent ones (a missing path, a denied policy) every few minutes.
func newBackoff(r func() float64) *backoff.Backoff {
	return backoff.New(time.Second, time.Minute).WithRand(r)
}

func newSlowBackoff(r func() float64) *backoff.Backoff {
	return backoff.New(30*time.Second, 5*time.Minute).WithRand(r)
}
