package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/vault/api"
)

// wrapMethod answers with a wrapped login after failing `fails` times.
type wrapMethod struct {
	mu    sync.Mutex
	fails int
	calls int
	ttl   time.Duration // the wrap_ttl the last Login saw
}

func (m *wrapMethod) Login(ctx context.Context, _ *api.Client) (*api.Secret, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	m.ttl, _ = ctx.Value(wrapTTLKey{}).(time.Duration)
	if m.calls <= m.fails {
		return nil, errors.New("vault is down")
	}
	return &api.Secret{WrapInfo: &api.SecretWrapInfo{Token: "wrapping-token", Accessor: "wrap-acc", TTL: 300, CreationPath: "auth/test/login"}}, nil
}

func (m *wrapMethod) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func testClient(t *testing.T) *api.Client {
	c, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A wrapped login is retried like any login, handed to OnWrapped once,
// and then left alone: no renewal, no new login, however long rotor runs
// (Vault Agent waits the same way); OnToken is never called.
func TestWrappedLoginIsHandedOverOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &wrapMethod{fails: 2}
		var got []*api.SecretWrapInfo
		var mu sync.Mutex
		l := NewLifecycle(Options{Client: testClient(t), Method: m, WrapTTL: 5 * time.Minute, MinBackoff: time.Second, MaxBackoff: 4 * time.Second,
			OnWrapped: func(_ context.Context, w *api.SecretWrapInfo) error {
				mu.Lock()
				got = append(got, w)
				mu.Unlock()
				return nil
			},
			OnToken: func(context.Context, *Token) error { t.Error("OnToken called for a wrapped login"); return nil }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		time.Sleep(30 * 24 * time.Hour) // a month of fake time
		synctest.Wait()
		if n := m.count(); n != 3 {
			t.Fatalf("%d logins, want 2 failures and 1 success", n)
		}
		if m.ttl != 5*time.Minute {
			t.Fatalf("the method saw wrap_ttl %v", m.ttl)
		}
		mu.Lock()
		if len(got) != 1 || got[0].Token != "wrapping-token" || got[0].CreationPath != "auth/test/login" {
			t.Fatalf("OnWrapped got %v", got)
		}
		mu.Unlock()
		if l.Token() != nil {
			t.Fatal("the lifecycle holds a token")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestWrappedLoginFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLifecycle(Options{Client: testClient(t), Method: &wrapMethod{fails: 1}, WrapTTL: time.Minute, ExitOnErr: true,
			OnWrapped: func(context.Context, *api.SecretWrapInfo) error { return nil }})
		if err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "vault is down") {
			t.Fatalf("exit_on_err: %v", err)
		}
		l = NewLifecycle(Options{Client: testClient(t), Method: &tokenFile{path: "/nonexistent"}, WrapTTL: time.Minute,
			OnWrapped: func(context.Context, *api.SecretWrapInfo) error { return nil }})
		if err := l.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "token_file") {
			t.Fatalf("token_file: %v", err)
		}
		sinkErr := errors.New("sink: permission denied")
		l = NewLifecycle(Options{Client: testClient(t), Method: &wrapMethod{}, WrapTTL: time.Minute,
			OnWrapped: func(context.Context, *api.SecretWrapInfo) error { return sinkErr }})
		if err := l.Run(context.Background()); !errors.Is(err, sinkErr) {
			t.Fatalf("OnWrapped error: %v", err)
		}
	})
}
