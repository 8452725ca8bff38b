package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeManager stands in for the Windows service manager: it records the
// states reported and sends requests.
type fakeManager struct {
	mu       sync.Mutex
	states   []svcState
	reported chan svcState
	requests chan svcRequest
}

func newFakeManager() *fakeManager {
	return &fakeManager{reported: make(chan svcState, 16), requests: make(chan svcRequest)}
}

func (m *fakeManager) report(s svcState) {
	m.mu.Lock()
	m.states = append(m.states, s)
	m.mu.Unlock()
	m.reported <- s
}

func (m *fakeManager) await(t *testing.T, want svcState) {
	t.Helper()
	select {
	case got := <-m.reported:
		if got != want {
			t.Fatalf("reported %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing reported; want %v", want)
	}
}

// A stop request reports stop-pending and cancels the agent's context;
// the agent's exit code is the service's.
func TestServiceStopCancelsTheAgent(t *testing.T) {
	for _, req := range []svcRequest{svcStop, svcShutdown} {
		m := newFakeManager()
		agentCtx := make(chan context.Context, 1)
		result := make(chan int, 1)
		go func() {
			result <- serveService(context.Background(), m.requests, m.report, func(ctx context.Context) int {
				agentCtx <- ctx
				<-ctx.Done()
				// Interrogated while winding down: still stop-pending.
				m.requests <- svcInterrogate
				return 3
			})
		}()
		m.await(t, svcStartPending)
		m.await(t, svcRunning)
		ctx := <-agentCtx
		m.requests <- svcInterrogate
		m.await(t, svcRunning)
		if ctx.Err() != nil {
			t.Fatal("the agent was cancelled before any stop request")
		}
		m.requests <- req
		m.await(t, svcStopPending)
		m.await(t, svcStopPending) // the interrogation's answer
		if code := <-result; code != 3 {
			t.Fatalf("exit code %d, want the agent's 3", code)
		}
		if ctx.Err() == nil {
			t.Fatal("the agent's context was not cancelled")
		}
	}
}

// An agent that stops on its own (a bad configuration, a fatal error)
// ends the service with its code, without any request.
func TestServiceEndsWhenTheAgentStops(t *testing.T) {
	m := newFakeManager()
	code := serveService(context.Background(), m.requests, m.report, func(context.Context) int { return exitFailed })
	if code != exitFailed {
		t.Fatalf("exit code %d", code)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Equal(m.states, []svcState{svcStartPending, svcRunning}) {
		t.Fatalf("states %v", m.states)
	}
}
