package vaulttest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/vault/api"
)

// Every dev server records Vault's answers in a raw file audit log, so
// that a test can check a process's output for every secret Vault handed
// out during the test process (Leaks), without knowing them itself.

// secretKeys are the answer fields that hold secrets.
var secretKeys = map[string]bool{
	"password": true, "private_key": true, "secret_key": true, "access_key": true, "security_token": true,
	"session_token": true, "client_token": true, "token": true, "secret_id": true,
}

// minSecretLen: shorter values (test fixtures such as "v1") are not
// checked; Vault's passwords, keys and tokens are longer.
const minSecretLen = 12

var audits struct {
	sync.Mutex
	paths []string
}

// auditPath is where s's raw audit log goes.
func (s *Server) auditPath() string { return filepath.Join(s.dir, "audit.log") }

// enableAudit turns the raw audit log on (again after a Restart: dev mode
// forgets it) and registers it for Leaks.
func (s *Server) enableAudit() error {
	c, err := newAPIClientErr(s.Addr, s.CACert, s.RootToken)
	if err != nil {
		return err
	}
	err = c.Sys().EnableAuditWithOptions("vaulttest-raw", &api.EnableAuditOptions{Type: "file", Options: map[string]string{
		"file_path": s.auditPath(), "log_raw": "true", "mode": "0600"}})
	if err != nil {
		return err
	}
	audits.Lock()
	defer audits.Unlock()
	for _, p := range audits.paths {
		if p == s.auditPath() {
			return nil
		}
	}
	audits.paths = append(audits.paths, s.auditPath())
	return nil
}

// Secrets returns every secret (see secretKeys) of minSecretLen bytes or
// more that any dev server of this test process has answered with so far,
// whose audit log still exists.
func Secrets() map[string]bool {
	audits.Lock()
	paths := append([]string(nil), audits.paths...)
	audits.Unlock()
	out := map[string]bool{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var entry struct {
				Type     string         `json:"type"`
				Response map[string]any `json:"response"`
			}
			if json.Unmarshal(sc.Bytes(), &entry) != nil || entry.Type != "response" {
				continue
			}
			collectSecrets(entry.Response, "", out)
		}
		f.Close()
	}
	return out
}

func collectSecrets(v any, key string, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			collectSecrets(x, k, out)
		}
	case []any:
		for _, x := range v {
			collectSecrets(x, key, out)
		}
	case string:
		if secretKeys[key] && len(v) >= minSecretLen {
			out[v] = true
		}
	}
}

// Leaks returns the secrets Vault answered with (Secrets) that text
// holds, each cut to its first 4 bytes so that a failing test does not
// print it either.
func Leaks(text string) []string {
	var found []string
	for s := range Secrets() {
		if strings.Contains(text, s) {
			found = append(found, s[:4]+"...")
		}
	}
	return found
}

// newAPIClientErr is a root client for s's address, without a test.
func newAPIClientErr(addr, caCert, token string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, cfg.Error
	}
	cfg.Address = addr
	if caCert != "" {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: caCert}); err != nil {
			return nil, err
		}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.ClearNamespace()
	c.SetToken(token)
	return c, nil
}
