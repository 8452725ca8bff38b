package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// rotor status reads the configuration as the agent does: one that logs in
// with VAULT_TOKEN (no auto_auth) still names the agent's listener.
func TestStatusFindsTheListenerOfAVaultTokenConfig(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "rotor.sock")
	cfg := filepath.Join(dir, "agent.hcl")
	body := `vault { address = "http://127.0.0.1:8200" }
listener "unix" {
  address     = "` + sock + `"
  tls_disable = true
}
template {
  contents    = "x"
  destination = "` + filepath.Join(dir, "out") + `"
}
`
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "the agent") })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("VAULT_TOKEN", "s.status-test-token")
	c, addr, err := statusClient("", "", []string{cfg})
	if err != nil {
		t.Fatalf("statusClient: %v", err)
	}
	resp, err := c.Get(addr + "/healthz")
	if err != nil {
		t.Fatalf("the client does not reach the listener's socket: %v", err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); string(b) != "the agent" {
		t.Fatalf("answer %q", b)
	}
}
