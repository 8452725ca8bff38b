package vaultclient

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// VAULT_AGENT_ADDR would make the API client send every request (a login
// with its secret_id, say) to another server than the configured one.
// rotor ignores it and says so.
func TestAgentAddrFromEnvironmentIsIgnored(t *testing.T) {
	var configured, other atomic.Int32
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		configured.Add(1)
		w.Write([]byte(`{"data":{"ok":true}}`))
	}))
	defer good.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		w.Write([]byte(`{"data":{"ok":true}}`))
	}))
	defer evil.Close()
	t.Setenv("VAULT_AGENT_ADDR", evil.URL)
	t.Setenv("BAO_AGENT_ADDR", evil.URL)
	var logs bytes.Buffer
	c, err := New(Config{Address: good.URL}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": "r", "secret_id": "s"}); err != nil {
		t.Fatal(err)
	}
	if configured.Load() != 1 || other.Load() != 0 {
		t.Fatalf("requests: configured server %d, VAULT_AGENT_ADDR server %d", configured.Load(), other.Load())
	}
	for _, v := range []string{"VAULT_AGENT_ADDR", "BAO_AGENT_ADDR"} {
		if !strings.Contains(logs.String(), v) {
			t.Errorf("no warning naming %s:\n%s", v, logs.String())
		}
	}
}
