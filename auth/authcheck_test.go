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
	"github.com/rotorproject/rotor/test/harness/proc"
)

// The differential tests run Vault Agent 1.21's own method code
// (test/vault/authcheck) and rotor's method on the same credentials and
// compare the login requests they make.

// loginRequest is a login as sent: the path under /v1/, the headers a
// method adds, and the JSON body.
type loginRequest struct {
	Path   string         `json:"path"`
	Header http.Header    `json:"header"`
	Body   map[string]any `json:"body"`
}

func authcheckBin(t *testing.T) string {
	t.Helper()
	return proc.Find(t, proc.Lookup{Env: "ROTOR_AUTHCHECK_BIN", Paths: []string{"test/vault/bin/authcheck"},
		Missing: "no authcheck: run make authcheck (it builds test/vault/bin/authcheck) or set ROTOR_AUTHCHECK_BIN"})
}

// vaultAgentLogin runs Vault Agent's method with cfg (its config map),
// mount and Vault address, in the environment env (added to a clean one),
// and returns the request it would send.
func vaultAgentLogin(t *testing.T, env []string, method string, cfg map[string]any, mount, addr string) loginRequest {
	t.Helper()
	f := filepath.Join(t.TempDir(), "config.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(authcheckBin(t), method, f, mount, addr)
	cmd.Env = append(proc.CleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("authcheck %s: %v: %s %s", method, err, out.String(), errb.String())
	}
	var r loginRequest
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("authcheck %s: %v: %s", method, err, out.String())
	}
	r.Path = strings.Trim(r.Path, "/")
	return r
}

// authcheckVerify runs `authcheck verify-<method> args...`.
func authcheckVerify(t *testing.T, method string, args ...string) error {
	t.Helper()
	out, err := exec.Command(authcheckBin(t), append([]string{"verify-" + method}, args...)...).CombinedOutput()
	if err != nil {
		return &verifyError{string(out)}
	}
	return nil
}

type verifyError struct{ msg string }

func (e *verifyError) Error() string { return strings.TrimSpace(e.msg) }

// recorder is a fake Vault that records login requests and answers with a
// token.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []loginRequest
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		lr := loginRequest{Path: strings.TrimPrefix(req.URL.Path, "/v1/"), Header: req.Header.Clone()}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &lr.Body); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, lr)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"auth":{"client_token":"hvs.recorded","accessor":"a","policies":["default"],"lease_duration":3600,"renewable":true}}`)
	}))
	t.Cleanup(r.Close)
	return r
}

// login runs m's Login against the recorder and returns what it sent.
func (r *recorder) login(t *testing.T, m Method) loginRequest {
	t.Helper()
	c := r.client(t)
	if _, err := m.Login(context.Background(), c); err != nil {
		t.Fatalf("rotor's login: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return r.reqs[len(r.reqs)-1]
}

// methodHeaders keeps only the headers a method adds (not the HTTP
// client's own).
func methodHeaders(h http.Header, names ...string) http.Header {
	out := http.Header{}
	for _, n := range names {
		if v := h.Values(n); len(v) > 0 {
			out[http.CanonicalHeaderKey(n)] = v
		}
	}
	return out
}

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// client is a client of the recorder without a token.
func (r *recorder) client(t *testing.T) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: r.URL})
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	return c
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
