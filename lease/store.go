package lease

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/consul-template/dependency"
	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/internal/clock"
	"golang.org/x/sync/singleflight"
)

// Value is what a template sees of a secret.
type Value struct {
	Secret *dependency.Secret // read and write
	List   []string           // list
}

// entry is one secret the store holds. Guarded by Store.mu.
type entry struct {
	ref      Ref
	val      Value
	timing   Timing
	leaseID  string
	leaseTTL time.Duration // the TTL first granted: what renewals ask for
	tokenGen int           // the token that fetched it; its leases die with it
	action   Action
	next     time.Time
	busy     bool // an action is in flight
	b        *backoff.Backoff
	lastErr  error
	forced   bool // Rotate asked for a new secret; revoke the old lease after
}

// Options configure a Store.
type Options struct {
	Client      *api.Client // base client; the store sets the token on its own clone
	Policy      Policy
	MaxParallel int // requests in flight at once (max_connections_per_host)
	Clock       clock.Clock
	Rand        func() float64
	Logger      *slog.Logger
	// OnChange is called, from Run's goroutine, with the keys of secrets
	// whose value changed after a re-fetch.
	OnChange func(keys []string)
	// InvalidToken is called when Vault answers 403 and the token itself
	// turns out to be dead (so a new login is needed, not a policy fix).
	InvalidToken func(*auth.Token)
	// OnUpdate is called after any secret is fetched, renewed or
	// re-fetched (the state file is saved then). It must not block.
	OnUpdate func()
}

// Store holds every secret rotor fetched, serves them to templates, and
// renews or re-fetches each before it expires. Fetch and Lookup may be
// called from any goroutine; Run must run for secrets to be kept alive.
type Store struct {
	o      Options
	wake   chan struct{}
	ready  chan struct{}
	sem    chan struct{}
	flight singleflight.Group
	mounts mountCache

	mu      sync.Mutex
	entries map[string]*entry
	tok     *auth.Token
	client  *api.Client // Options.Client with tok set
}

// NewStore builds a store; it starts nothing.
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
	return &Store{
		o:       o,
		wake:    make(chan struct{}, 1),
		ready:   make(chan struct{}),
		sem:     make(chan struct{}, o.MaxParallel),
		entries: map[string]*entry{},
	}
}

// Ready is closed once the store has a token.
func (s *Store) Ready() <-chan struct{} { return s.ready }

// SetToken gives the store a new token. Secrets whose leases die with the
// previous token are re-fetched ahead of its death, spread over time; all
// others keep their leases (a new login re-issues nothing needlessly).
func (s *Store) SetToken(tok *auth.Token) error {
	c, err := s.o.Client.CloneWithHeaders()
	if err != nil {
		return err
	}
	c.SetToken(tok.Value())
	s.mu.Lock()
	first := s.tok == nil
	s.tok, s.client = tok, c
	if !first {
		s.rescheduleTokenBound(tok)
	}
	s.mu.Unlock()
	if first {
		close(s.ready)
	}
	s.poke()
	return nil
}

// rescheduleTokenBound plans the re-fetch of leases that would outlive
// the previous token. Called with s.mu held.
func (s *Store) rescheduleTokenBound(tok *auth.Token) {
	now := s.o.Clock.Now()
	var bound []*entry
	for _, e := range s.entries {
		if e.leaseID == "" || e.tokenGen >= tok.Generation {
			continue
		}
		if tok.PrevDeath.IsZero() || Deadline(e.timing).After(tok.PrevDeath) {
			bound = append(bound, e)
		}
	}
	sort.Slice(bound, func(i, j int) bool { return bound[i].ref.Key() < bound[j].ref.Key() })
	for i, e := range bound {
		e.action, e.next = ActionRefetch, TokenBoundAt(now, tok.PrevDeath, i, len(bound))
	}
	if len(bound) > 0 {
		s.o.Logger.Info("re-fetching secrets that die with the previous token", "count", len(bound), "token_dies", tok.PrevDeath)
	}
}

func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
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

// Fetch gets every ref the store does not hold yet, concurrently (at most
// MaxParallel requests at once) and at most once each even when several
// callers ask together. It blocks until all are done or ctx is done and
// returns the errors by key.
func (s *Store) Fetch(ctx context.Context, refs []Ref) map[string]error {
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for _, r := range refs {
		key := r.Key()
		if _, ok := s.Lookup(key); ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	wg.Wait()
	return errs
}

func (s *Store) fetchNew(ctx context.Context, r Ref) error {
	res, err := s.fetch(ctx, r)
	if err != nil {
		return err
	}
	e := &entry{ref: r, b: backoff.New(time.Second, time.Minute).WithRand(s.o.Rand)}
	s.mu.Lock()
	s.apply(e, res)
	s.entries[r.Key()] = e
	s.mu.Unlock()
	s.poke()
	s.o.OnUpdate()
	return nil
}

// apply stores a fetch result in e and schedules its next action. Called
// with s.mu held.
func (s *Store) apply(e *entry, res fetched) {
	e.val, e.timing, e.leaseID, e.leaseTTL = res.val, res.timing, res.leaseID, res.leaseTTL
	e.tokenGen = res.tokenGen
	e.lastErr = nil
	e.b.Reset()
	e.action, e.next = Next(e.timing, s.o.Policy, s.o.Rand())
}

// Run keeps every secret alive until ctx is done: it sleeps until the
// earliest action is due, then renews or re-fetches what is due, at most
// MaxParallel at once, and reports changed values to OnChange.
func (s *Store) Run(ctx context.Context) error {
	for {
		if _, err := clock.Wait(ctx, s.o.Clock, s.earliest(), s.wake); err != nil {
			return nil
		}
		due := s.takeDue()
		if len(due) == 0 {
			continue
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var changed []string
		for _, e := range due {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if s.act(ctx, e) {
					mu.Lock()
					changed = append(changed, e.ref.Key())
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		s.o.OnUpdate()
		if len(changed) > 0 {
			sort.Strings(changed)
			s.o.OnChange(changed)
		}
	}
}

func (s *Store) earliest() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t time.Time
	for _, e := range s.entries {
		if !e.busy && (t.IsZero() || e.next.Before(t)) {
			t = e.next
		}
	}
	return t
}

func (s *Store) takeDue() []*entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Clock.Now()
	var due []*entry
	for _, e := range s.entries {
		if !e.busy && !e.next.After(now) {
			e.busy = true
			due = append(due, e)
		}
	}
	return due
}
