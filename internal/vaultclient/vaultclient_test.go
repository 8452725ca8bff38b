package vaultclient

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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

// VAULT_PROXY_ADDR and VAULT_HTTP_PROXY make the API client send every
// request through the HTTP proxy they name: rotor's logins and tokens
// would pass through whatever a stray variable points at. rotor ignores
// them and says so, naming the variable (HTTPS_PROXY and its kin, the
// standard variables, still apply).
func TestVaultProxyFromEnvironmentIsIgnored(t *testing.T) {
	for _, names := range [][]string{{"VAULT_PROXY_ADDR"}, {"VAULT_HTTP_PROXY"}, {"VAULT_PROXY_ADDR", "VAULT_HTTP_PROXY"}} {
		var configured, proxied atomic.Int32
		good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			configured.Add(1)
			w.Write([]byte(`{"data":{"ok":true}}`))
		}))
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			proxied.Add(1) // a proxy that answers for Vault itself
			w.Write([]byte(`{"data":{"ok":true}}`))
		}))
		for _, n := range names {
			t.Setenv(n, proxy.URL)
		}
		var logs bytes.Buffer
		c, err := New(Config{Address: good.URL}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		clone, err := c.CloneWithHeaders()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Write("auth/approle/login", map[string]any{"role_id": "r", "secret_id": "s"}); err != nil {
			t.Fatal(err)
		}
		if _, err := clone.Logical().Read("secret/x"); err != nil {
			t.Fatal(err)
		}
		if configured.Load() != 2 || proxied.Load() != 0 {
			t.Fatalf("%v: requests to the configured server %d, through the proxy %d", names, configured.Load(), proxied.Load())
		}
		for _, n := range names {
			if !strings.Contains(logs.String(), "variable="+n) {
				t.Errorf("no warning naming %s:\n%s", n, logs.String())
			}
		}
		good.Close()
		proxy.Close()
		for _, n := range names {
			os.Unsetenv(n)
		}
	}
}

// VAULT_MAX_RETRIES, which the vault-k8s injector sets from an
// annotation, wins over the configured retry count, as in Vault Agent;
// without it the configured count applies.
func TestMaxRetriesFromEnvironmentWins(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int32
	}{{"", 2}, {"0", 1}} {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
		}))
		if tc.env != "" {
			t.Setenv("VAULT_MAX_RETRIES", tc.env)
		}
		c, err := New(Config{Address: srv.URL, NumRetries: 1}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Logical().Read("secret/x"); err == nil {
			t.Fatal("a 500 answer read as success")
		}
		srv.Close()
		if hits.Load() != tc.want {
			t.Errorf("VAULT_MAX_RETRIES=%q, num_retries 1: %d requests, want %d", tc.env, hits.Load(), tc.want)
		}
	}
}
