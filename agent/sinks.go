package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/backoff"
	"github.com/rotorproject/rotor/sink"
)

// sinkRetry is the wait before a failed sink write is tried again: 1 to 3
// seconds, Vault Agent's sink server's retry.
const sinkRetry = 3 * time.Second

// sinkWriter remembers the latest value given to the sinks and which sinks
// do not hold it yet. Its mutex is held during writes, so the lifecycle's
// writes and the retries never interleave: a sink never ends up holding
// an older value than the latest.
type sinkWriter struct {
	mu      sync.Mutex
	value   string       // the latest token, or a wrapped login's wrap info
	wrapped bool         // value is a wrapped login's wrap info
	pending []*sink.File // sinks whose write of value failed
	kick    chan struct{}
}

// waiting reports whether a sink still lacks the latest value.
func (w *sinkWriter) waiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) > 0
}

// writeSinks writes tok to every sink and returns the failures, joined.
func (a *Agent) writeSinks(ctx context.Context, tok *auth.Token) error {
	return a.writeValue(ctx, tok.Value(), false)
}

// onWrapped writes a wrapped login's wrap info (method wrap_ttl) to the
// sink; the configuration allows no templates then, so rotor is ready
// once the sink holds it. An error (first write) stops rotor, as for a
// token.
func (a *Agent) onWrapped(ctx context.Context, w *api.SecretWrapInfo) error {
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode the wrapped login: %w", err)
	}
	if err := a.writeValue(ctx, string(b), true); err != nil {
		return err
	}
	a.finish()
	return nil
}

// writeValue writes v to every sink and returns the failures, joined. A
// sink whose reader's public key (dh_path) is not there yet is not a
// failure: it waits, and runSinkRetry writes it when the key appears, as
// Vault Agent does (the reader may create its key after rotor starts).
// Every failed sink is retried there with the latest value.
func (a *Agent) writeValue(ctx context.Context, v string, wrapped bool) error {
	log := a.log.With("component", "sink")
	w := &a.sinkw
	w.mu.Lock()
	defer w.mu.Unlock()
	w.value, w.wrapped, w.pending = v, wrapped, nil
	var errs []error
	for _, s := range a.currentSinks() {
		err := s.Write(ctx, a.client, v)
		switch {
		case err == nil:
			log.Info("token written", "path", s.Path(), "wrapped", s.Wrapped() || wrapped, "encrypted", s.Encrypted())
			continue
		case errors.Is(err, sink.ErrPublicKey):
			log.Warn("sink waits for its reader's public key (dh_path); retrying", "path", s.Path(), "error", err)
		default:
			errs = append(errs, err)
			log.Error("sink write failed", "path", s.Path(), "error", err)
		}
		w.pending = append(w.pending, s)
	}
	if len(w.pending) > 0 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

// runSinkRetry writes the latest value to the sinks that failed, every 1
// to 3 seconds, until each holds it, then tells maybeReady.
func (a *Agent) runSinkRetry(ctx context.Context) error {
	log := a.log.With("component", "sink")
	w := &a.sinkw
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
		}
		for w.waiting() {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff.Jitter(sinkRetry, 2.0/3, rand.Float64())):
			}
			w.mu.Lock()
			cur := a.currentSinks()
			var still []*sink.File
			for _, s := range w.pending {
				if !slices.Contains(cur, s) {
					continue // removed by a reload
				}
				if err := s.Write(ctx, a.client, w.value); err != nil {
					log.Debug("sink write failed again", "path", s.Path(), "error", err)
					still = append(still, s)
					continue
				}
				log.Info("token written", "path", s.Path(), "wrapped", s.Wrapped() || w.wrapped, "encrypted", s.Encrypted())
			}
			w.pending = still
			w.mu.Unlock()
		}
		a.maybeReady()
	}
}

// currentSinks returns the sinks in force (a reload may replace them).
func (a *Agent) currentSinks() []*sink.File {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sinks
}
