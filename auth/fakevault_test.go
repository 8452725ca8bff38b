package auth_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/test/harness/fakevault"
)

// approleRun is an AppRole lifecycle running in a synctest bubble against
// a fake Vault whose role gives 1h tokens.
type approleRun struct {
	fv      *fakevault.Vault
	mu      sync.Mutex
	tokens  []*auth.Token
	renewed int
	cancel  context.CancelFunc
	done    chan error
}

func startAppRole(t *testing.T) *approleRun {
	t.Helper()
	dir := t.TempDir()
	roleFile, secretFile := filepath.Join(dir, "role_id"), filepath.Join(dir, "secret_id")
	if err := os.WriteFile(roleFile, []byte("role-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("secret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &approleRun{fv: fakevault.New(), done: make(chan error, 1)}
	r.fv.AddAppRole("web", "role-1", "secret-1", time.Hour)
	m, err := auth.NewMethod(auth.MethodOptions{Type: "approle", MountPath: "auth/approle",
		AppRole: &auth.AppRoleOptions{RoleIDFilePath: roleFile, SecretIDFilePath: secretFile}}, vaultclient.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := auth.NewLifecycle(auth.Options{Client: r.fv.Client(t), Method: m, MinBackoff: time.Second, MaxBackoff: time.Minute,
		Rand: func() float64 { return 0 },
		OnToken: func(_ context.Context, tok *auth.Token) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.tokens = append(r.tokens, tok)
			return nil
		},
		OnRenewed: func(*auth.Token) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.renewed++
		}})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- l.Run(ctx) }()
	synctest.Wait()
	return r
}

func (r *approleRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil && err != context.Canceled {
		t.Errorf("Run: %v", err)
	}
}

func (r *approleRun) state() (tokens []*auth.Token, renewed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*auth.Token(nil), r.tokens...), r.renewed
}

// A 1h token is renewed before it expires, and the renewal keeps it: no
// second login, and the fake Vault sees the token alive an hour later.
func TestFakeVaultRenewsBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startAppRole(t)
		defer r.stop(t)
		tokens, _ := r.state()
		if len(tokens) != 1 || r.fv.Count("PUT auth/approle/login") != 1 {
			t.Fatalf("%d tokens, %d logins after start, want 1", len(tokens), r.fv.Count("PUT auth/approle/login"))
		}
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		tokens, renewed := r.state()
		if renewed == 0 || r.fv.Count("PUT auth/token/renew-self") == 0 {
			t.Fatal("no renewal within the token's hour")
		}
		if len(tokens) != 1 || r.fv.Count("PUT auth/approle/login") != 1 {
			t.Fatalf("%d tokens after renewals, want the first kept", len(tokens))
		}
		if ttl := r.fv.TokenTTL(tokens[0].Value()); ttl <= time.Minute {
			t.Fatalf("token has %v left after 59m: renewals did not extend it", ttl)
		}
		for _, req := range r.fv.Requests("PUT auth/token/renew-self") {
			if req.Token != tokens[0].Value() {
				t.Fatal("renew-self sent with another token")
			}
		}
	})
}

// A token revoked behind rotor's back is refused (403 invalid token) at
// its next renewal: the lifecycle logs in again and hands on a new token.
func TestFakeVaultReloginAfter403(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startAppRole(t)
		defer r.stop(t)
		first, _ := r.state()
		r.fv.RevokeToken(first[0].Value())
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		tokens, _ := r.state()
		if len(tokens) != 2 || r.fv.Count("PUT auth/approle/login") != 2 {
			t.Fatalf("%d tokens, %d logins, want a second login after the 403", len(tokens), r.fv.Count("PUT auth/approle/login"))
		}
		if tokens[1].Value() == tokens[0].Value() || tokens[1].Generation != tokens[0].Generation+1 {
			t.Fatalf("second token: generation %d after %d, same value: %v", tokens[1].Generation, tokens[0].Generation, tokens[1].Value() == tokens[0].Value())
		}
		if r.fv.TokenTTL(tokens[1].Value()) <= 0 {
			t.Fatal("the new token is not alive in Vault")
		}
	})
}

// A renewal that fails transiently (503) is retried with the same token:
// no new login.
func TestFakeVaultRetriesTransientRenewal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startAppRole(t)
		defer r.stop(t)
		r.fv.Fail(fakevault.Fault{Path: "auth/token/renew-self", Status: 503, Times: 2})
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		tokens, renewed := r.state()
		reqs := r.fv.Requests("PUT auth/token/renew-self")
		if len(reqs) < 3 || reqs[0].Status != 503 || reqs[1].Status != 503 || reqs[2].Status != 200 {
			t.Fatalf("renewals %+v: want two 503s, then a success", reqs)
		}
		if len(tokens) != 1 || renewed == 0 {
			t.Fatalf("%d tokens, %d renewals: want the first token kept and renewed", len(tokens), renewed)
		}
	})
}
