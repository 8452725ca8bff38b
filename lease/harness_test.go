package lease

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rotorproject/rotor/auth"
)

// running is a store with Run going, in a synctest bubble, against a
// memVault, with token "t1" (generation 1, 1h TTL).
type running struct {
	*Store
	fv     *memVault
	tok    *auth.Token
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changes []change
	invalid []*auth.Token
}

type change struct {
	key string
	at  time.Time
}

// startStore starts a store; o's Client, Clock, Rand and callbacks are
// set here. Call stop (deferred) before the bubble ends.
func startStore(t *testing.T, fv *memVault, o Options) *running {
	t.Helper()
	r := &running{fv: fv, done: make(chan struct{})}
	o.Client = memClient(t, fv)
	if o.Rand == nil {
		o.Rand = func() float64 { return 0 }
	}
	if o.Policy == (Policy{}) {
		o.Policy = Policy{Threshold: 0.9, StaticInterval: time.Hour}
	}
	o.OnChange = func(keys []string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, k := range keys {
			r.changes = append(r.changes, change{k, time.Now()})
		}
	}
	o.InvalidToken = func(tok *auth.Token) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.invalid = append(r.invalid, tok)
	}
	r.Store = NewStore(o)
	r.tok = token("t1", 1, time.Hour, time.Time{})
	if err := r.SetToken(r.tok); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.Run(ctx); close(r.done) }()
	return r
}

// stop ends Run and checks that it returned with every worker.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	synctest.Wait()
	select {
	case <-r.done:
	default:
		t.Fatal("Run did not return after its context ended")
	}
}

func (r *running) fetch(t *testing.T, refs ...Ref) {
	t.Helper()
	if errs := r.Fetch(context.Background(), refs); len(errs) > 0 {
		t.Fatalf("fetch: %v", errs)
	}
}

func (r *running) changesOf(key string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Time
	for _, c := range r.changes {
		if c.key == key {
			out = append(out, c.at)
		}
	}
	return out
}

func (r *running) status(t *testing.T, key string) Status {
	t.Helper()
	for _, st := range r.Status() {
		if st.Key == key {
			return st
		}
	}
	t.Fatalf("no status for %s", key)
	return Status{}
}

func (r *running) value(t *testing.T, ref Ref) *Secret {
	t.Helper()
	v, ok := r.Lookup(ref.Key())
	if !ok || v.Secret == nil {
		t.Fatalf("%s not held", ref)
	}
	return v.Secret
}

func creds(role string) Ref { return Ref{Kind: KindRead, Path: "database/creds/" + role} }

func kv(path string) Ref { return Ref{Kind: KindRead, Path: path} }

// sleep lets fake time pass while every goroutine of the bubble is idle.
func sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
