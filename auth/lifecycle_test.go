package auth

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/vault/api"
)

// fakeVault answers logins and token renewals in memory (no network, so
// the lifecycle runs in a synctest bubble). Each endpoint's next answers
// are set by the test; the default is success.
type fakeVault struct {
	mu       sync.Mutex
	logins   []time.Time
	renewals []time.Time
	login    answer
	renew    answer
	ttl      int // seconds granted at login and renewal
	n        int
	revoked  []string // tokens whose revoke-self was asked
	err      error    // returned by the transport itself
}

type answer struct {
	status     int
	retryAfter string
}

func (f *fakeVault) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	w := httptest.NewRecorder()
	var a answer
	switch r.URL.Path {
	case "/v1/auth/test/login":
		f.logins = append(f.logins, time.Now())
		a = f.login
		f.n++
	case "/v1/auth/token/renew-self":
		f.renewals = append(f.renewals, time.Now())
		a = f.renew
	case "/v1/auth/token/revoke-self":
		f.revoked = append(f.revoked, r.Header.Get("X-Vault-Token"))
		w.WriteHeader(http.StatusNoContent)
		resp := w.Result()
		resp.Request = r
		return resp, nil
	default:
		a = answer{status: 404}
	}
	w.Header().Set("Content-Type", "application/json")
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.status != 0 {
		w.WriteHeader(a.status)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{"injected"}})
	} else {
		json.NewEncoder(w).Encode(map[string]any{"auth": map[string]any{"client_token": "tok-" + strings.Repeat("x", f.n),
			"accessor": "acc", "lease_duration": f.ttl, "renewable": true}})
	}
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

type testMethod struct{}

func (testMethod) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	return loginWrite(ctx, c, "auth/test/login", nil)
}

// started is a lifecycle running in a bubble.
type started struct {
	*Lifecycle
	mu      sync.Mutex
	tokens  []*Token
	renewed []*Token
	err     error
	done    chan struct{}
	cancel  context.CancelFunc
}

func start(t *testing.T, f *fakeVault) *started {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = "http://vault.test"
	cfg.HttpClient = &http.Client{Transport: f}
	cfg.MaxRetries = 12 // vault.retry.num_retries' default: must not apply to logins
	cfg.MinRetryWait, cfg.MaxRetryWait = 10*time.Millisecond, 10*time.Millisecond
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	s := &started{done: make(chan struct{})}
	s.Lifecycle = NewLifecycle(Options{Client: c, Method: testMethod{}, MinBackoff: time.Second, MaxBackoff: time.Minute,
		Rand: func() float64 { return 0 },
		OnToken: func(_ context.Context, tok *Token) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.tokens = append(s.tokens, tok)
			return nil
		},
		OnRenewed: func(tok *Token) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.renewed = append(s.renewed, tok)
		}})
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() { s.err = s.Run(ctx); close(s.done) }()
	return s
}

func (s *started) stop() {
	s.cancel()
	<-s.done
}

func gaps(ts []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Sub(ts[i-1]))
	}
	return out
}

// A failing login is one request per attempt, whatever num_retries says:
// the lifecycle's backoff is the only retry layer (1s, 2s, 4s, ...).
func TestLoginIsRetriedOnlyByTheLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeVault{login: answer{status: 503}, ttl: 3600}
		s := start(t, f)
		defer s.stop()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		f.mu.Lock()
		got := gaps(f.logins)
		f.mu.Unlock()
		want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
		if len(got) != len(want) {
			t.Fatalf("login attempts %v apart, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("login attempts %v apart, want %v", got, want)
			}
		}
	})
}

// Vault's Retry-After (a login rate limit) is honoured.
func TestLoginHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeVault{login: answer{status: 429, retryAfter: "30"}, ttl: 3600}
		s := start(t, f)
		defer s.stop()
		time.Sleep(29 * time.Second)
		synctest.Wait()
		f.mu.Lock()
		f.login = answer{}
		n := len(f.logins)
		f.mu.Unlock()
		if n != 1 {
			t.Fatalf("%d logins within Retry-After", n)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if len(s.tokens) != 1 {
			t.Fatal("no login after Retry-After")
		}
	})
}

// A server certificate rotor cannot verify is a configuration error:
// Run stops at once with it, instead of retrying forever.
func TestLoginConfigErrorFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeVault{err: x509.UnknownAuthorityError{}, ttl: 3600}
		s := start(t, f)
		select {
		case <-s.done:
		case <-time.After(time.Second):
			s.stop()
			t.Fatal("still retrying a TLS error")
		}
		if s.err == nil || !strings.Contains(s.err.Error(), "unknown authority") {
			t.Fatalf("Run returned %v", s.err)
		}
	})
}

// Renewal failures by class: transient ones back off and retry; a 403
// (dead token) and a refusal for good (400) both lead to a new login at
// once; every success reaches OnRenewed.
func TestRenewalFailuresByClass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeVault{ttl: 60}
		s := start(t, f)
		defer s.stop()
		synctest.Wait()
		set := func(a answer) { f.mu.Lock(); f.renew = a; f.mu.Unlock() }
		set(answer{status: 503})
		time.Sleep(40 * time.Second) // renewal at 2/3 of 59s fails
		synctest.Wait()
		set(answer{})
		time.Sleep(time.Second) // retried 1s later
		synctest.Wait()
		s.mu.Lock()
		renewed := len(s.renewed)
		s.mu.Unlock()
		if renewed != 1 || len(s.tokens) != 1 {
			t.Fatalf("%d renewals reported, %d tokens: want the retry to succeed", renewed, len(s.tokens))
		}
		for _, c := range []struct {
			status int
			alive  bool
		}{{403, false}, {400, true}} {
			set(answer{status: c.status})
			time.Sleep(40 * time.Second)
			synctest.Wait()
			set(answer{})
			s.mu.Lock()
			n := len(s.tokens)
			last := s.tokens[n-1]
			s.mu.Unlock()
			if last.Generation != n || n < 2 {
				t.Fatalf("%d: no new login (%d tokens)", c.status, n)
			}
			if alive := !last.PrevDeath.IsZero(); alive != c.alive {
				t.Fatalf("%d: the old token counted alive=%v, want %v", c.status, alive, c.alive)
			}
		}
	})
}

// A token Vault rejected is no token: Rejected says so (readiness shows
// it) until a new login succeeds, and the rejected token, which rotor
// created, is revoked in case the rejection was wrong and it lives on.
func TestRejectedTokenIsRevokedAndNotReadyUntilLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeVault{ttl: 3600}
		s := start(t, f)
		defer s.stop()
		synctest.Wait()
		first := s.Token()
		if first == nil || s.Rejected() {
			t.Fatalf("after the first login: token %v, rejected %v", first, s.Rejected())
		}
		f.mu.Lock()
		f.login = answer{status: 503}
		f.mu.Unlock()
		s.Invalidate(first)
		synctest.Wait()
		if !s.Rejected() {
			t.Fatal("a rejected token, no new login yet: Rejected is false")
		}
		f.mu.Lock()
		if len(f.revoked) != 1 || f.revoked[0] != first.Value() {
			t.Fatalf("revoke-self sent for %d tokens, want the rejected one", len(f.revoked))
		}
		f.login = answer{}
		f.mu.Unlock()
		time.Sleep(time.Minute) // past the login backoff (fake time)
		synctest.Wait()
		if s.Rejected() || s.Token() == nil || s.Token().Value() == first.Value() {
			t.Fatalf("after the new login: rejected %v", s.Rejected())
		}
	})
}
