package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// running is an agent started by startAgent.
type running struct {
	agent  *Agent
	logs   *vaulttest.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // Run's result, valid once done is closed
}

// wait returns Run's result, failing the test if it takes longer than d.
func (r *running) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(d):
		t.Fatalf("agent still running after %v; logs:\n%s", d, r.logs)
		return nil
	}
}

// loadConfig writes hcl to a file and loads it against srv.
func loadConfig(t *testing.T, srv *vaulttest.Server, hcl string) *config.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rotor.hcl")
	if err := os.WriteFile(p, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VAULT_ADDR": srv.Addr}
	if srv.CACert != "" {
		env["VAULT_CACERT"] = srv.CACert
	}
	cfg, err := config.Load([]string{p}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// startAgent runs an agent from hcl until the test ends. Every log line is
// checked for leaked tokens at the end.
func startAgent(t *testing.T, srv *vaulttest.Server, hcl string) *running {
	t.Helper()
	cfg := loadConfig(t, srv, hcl)
	logs := &vaulttest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := New(cfg, Options{Logger: log})
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{agent: a, logs: logs, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = a.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("agent did not stop within 10s of cancel")
		}
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs)
		}
		if tok := a.Token(); tok != nil && strings.Contains(logs.String(), tok.Value()) {
			t.Errorf("a token appears in the logs")
		}
		// Every secret rotor holds (its store, its proxy cache, its
		// token) is checked too, for every agent test: none may reach a
		// log line. Short values ("true", a TTL) are not secrets.
		for v := range secretValues(a) {
			if len(v) >= 12 && strings.Contains(logs.String(), v) {
				t.Errorf("a secret value held by rotor (%d bytes) appears in the logs", len(v))
			}
		}
		// And every secret Vault answered with while the test ran, those
		// rotor no longer holds too (rotated away, revoked), from the
		// server's raw audit log.
		if leaks := vaulttest.Leaks(logs.String()); len(leaks) > 0 {
			t.Errorf("secrets Vault answered with appear in the logs: %v", leaks)
		}
	})
	return r
}

// secretValues yields what rotor would redact: every secret it holds.
func secretValues(a *Agent) func(func(string) bool) {
	return func(yield func(string) bool) {
		for v := range a.store.Values() {
			if !yield(v) {
				return
			}
		}
		a.cacheValues(yield)
	}
}

// writeFile writes a credential file for an auth method.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readSink returns the sink's token once the file exists.
func readSink(t *testing.T, path string) string {
	t.Helper()
	var tok string
	vaulttest.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		tok = strings.TrimSpace(string(b))
		if tok == "" {
			return os.ErrNotExist
		}
		return nil
	})
	return tok
}

// lookup returns the token's lookup data, seen by root.
func lookup(t *testing.T, root *api.Client, token string) (*api.Secret, error) {
	t.Helper()
	return root.Auth().Token().Lookup(token)
}
