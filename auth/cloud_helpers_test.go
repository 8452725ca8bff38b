package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/cloudfake"
	"github.com/rotorproject/rotor/test/harness/proc"
)

// loginCapture is a stand-in Vault that records login requests and
// answers each with a token.
type loginCapture struct {
	URL  string
	mu   sync.Mutex
	reqs []capturedLogin
}

type capturedLogin struct {
	Path string
	Data map[string]any
}

func newLoginCapture(t *testing.T) *loginCapture {
	t.Helper()
	lc := &loginCapture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var d map[string]any
		json.Unmarshal(b, &d)
		lc.mu.Lock()
		lc.reqs = append(lc.reqs, capturedLogin{Path: strings.TrimPrefix(r.URL.Path, "/v1/"), Data: d})
		lc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"auth":{"client_token":"hvs.captured","accessor":"a","policies":["default"],"lease_duration":3600,"renewable":true}}`)
	}))
	t.Cleanup(srv.Close)
	lc.URL = srv.URL
	return lc
}

func (lc *loginCapture) client(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: lc.URL})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken("")
	return c
}

// rotorLogin runs rotor's method once against the fake cloud and returns
// the login request it sent.
func rotorLogin(t *testing.T, f *cloudfake.Fake, lc *loginCapture, o MethodOptions, env map[string]string) (capturedLogin, error) {
	t.Helper()
	m := cloudMethod(t, f, o, env)
	if _, err := m.Login(context.Background(), lc.client(t)); err != nil {
		return capturedLogin{}, err
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.reqs[len(lc.reqs)-1], nil
}

// cloudMethod builds rotor's method with its HTTP clients and environment
// pointed at the fake cloud: the remote client goes through the fake as
// HTTPS_PROXY would send it, metadata services are the fake's URL.
func cloudMethod(t *testing.T, f *cloudfake.Fake, o MethodOptions, env map[string]string) Method {
	t.Helper()
	m, err := NewMethod(o, vaultclientConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"GCE_METADATA_HOST": strings.TrimPrefix(f.URL, "http://")}
	for k, v := range env {
		all[k] = v
	}
	lookup := func(k string) (string, bool) { v, ok := all[k]; return v, ok }
	clients := cloudClients{remote: f.Client(), local: &http.Client{}}
	switch m := m.(type) {
	case *gcpMethod:
		m.env, m.http = lookup, clients
	case *azureMethod:
		m.env, m.http, m.imds = lookup, clients, f.URL
	case *aliCloudMethod:
		m.env, m.http, m.ecs = lookup, clients, f.URL
	default:
		t.Fatalf("not a cloud method: %T", m)
	}
	return m
}

// agentLogin runs Vault Agent's own method (test/vault/authcheck) on an
// agent configuration whose vault address is lc's and whose auto_auth
// method is method, with the fake cloud as its proxies, CA and metadata
// host, and returns the login request it would send.
func agentLogin(t *testing.T, f *cloudfake.Fake, lc *loginCapture, method string, env map[string]string) (capturedLogin, error) {
	t.Helper()
	bin := proc.Find(t, proc.Lookup{
		Env:     "ROTOR_AUTHCHECK_BIN",
		Paths:   []string{"test/vault/bin/authcheck"},
		Missing: "no authcheck: run make test (it builds test/vault/bin/authcheck) or set ROTOR_AUTHCHECK_BIN",
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.hcl")
	hcl := "vault {\n  address = \"" + lc.URL + "\"\n}\nauto_auth {\n" + method + "\n}\n"
	if err := os.WriteFile(cfg, []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, cfg)
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": dir}
	for k, v := range f.Env() {
		vars[k] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if msg, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "error: "); ok {
		return capturedLogin{}, &agentError{msg}
	}
	if err != nil {
		t.Fatalf("authcheck: %v: %s %s", err, out.String(), stderr.String())
	}
	var res struct {
		Path string         `json:"path"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("authcheck output: %v: %s", err, out.String())
	}
	return capturedLogin{Path: res.Path, Data: res.Data}, nil
}

type agentError struct{ msg string }

func (e *agentError) Error() string { return "Vault Agent: " + e.msg }

// sameExcept fails unless a and b have the same keys and values, apart
// from the keys in skip (checked separately by the caller).
func sameExcept(t *testing.T, what string, a, b map[string]any, skip ...string) {
	t.Helper()
	for _, m := range []map[string]any{a, b} {
		for _, k := range skip {
			delete(m, k)
		}
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("%s differ:\n  Vault Agent: %s\n  rotor:       %s", what, ja, jb)
	}
}

// clone copies a JSON-ish map one level deep.
func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// requestsOf returns the fake's requests under prefix as "METHOD path?query".
func requestsOf(f *cloudfake.Fake, prefix string) []string {
	var out []string
	for _, r := range f.Requests(prefix) {
		s := r.Method + " " + r.Path
		if len(r.Query) > 0 {
			s += "?" + r.Query.Encode()
		}
		out = append(out, s)
	}
	return out
}
