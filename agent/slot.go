package agent

import (
	"context"
	"sync"
)

// slot runs one replaceable part (the token lifecycle, the template
// runner): a reload sets a new Run function, and the slot stops the old
// one and starts the new one. The slot's goroutine is the only owner of
// the part's goroutine.
type slot struct {
	mu   sync.Mutex
	fn   func(context.Context) error
	swap chan struct{}
}

// set replaces the running part (or sets the first one) and returns once
// the slot has been told; it does not wait for the old part to stop.
func (s *slot) set(fn func(context.Context) error) {
	s.mu.Lock()
	if s.swap == nil {
		s.swap = make(chan struct{}, 1)
	}
	s.fn = fn
	s.mu.Unlock()
	select {
	case s.swap <- struct{}{}:
	default:
	}
}

func (s *slot) current() (func(context.Context) error, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.swap == nil {
		s.swap = make(chan struct{}, 1)
	}
	return s.fn, s.swap
}

// run runs the current part with runPart until ctx is done or the part
// returns by itself (its error is returned); a replacement is started in
// its place. runPart is how each part runs on its own goroutine (see
// Agent.partRunner: it recovers a panic).
func (s *slot) run(ctx context.Context, runPart func(context.Context, func(context.Context) error) error) error {
	for {
		_, swap := s.current()
		select {
		case <-swap: // drain the notice before reading the part to run
		default:
		}
		fn, _ := s.current()
		if fn == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-swap:
				continue
			}
		}
		pctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- runPart(pctx, fn) }()
		select {
		case err := <-done:
			cancel()
			return err
		case <-swap:
			cancel()
			<-done // the old part has stopped before the new one starts
		case <-ctx.Done():
			cancel()
			return <-done
		}
	}
}
