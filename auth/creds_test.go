package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/redact"
	"github.com/rotorproject/rotor/internal/vaultclient"
)

// echoVault refuses every request with an error that quotes the request
// body and token, as a misconfigured proxy or a chatty plugin might.
func echoVault(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"errors": []string{"bad request " + string(body) + " token " + r.Header.Get("X-Vault-Token")}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// failedLogin runs m's login against the Vault at addr, which must refuse
// it, and returns the lifecycle and everything it printed: its log, and
// with exitOnErr the error Run returned. Without exitOnErr it stops Run at
// the first "login failed" line.
func failedLogin(t *testing.T, m Method, addr string, exitOnErr bool) (*Lifecycle, string) {
	t.Helper()
	c, err := vaultclient.New(vaultclient.Config{Address: addr}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuf{}
	l := NewLifecycle(Options{Client: c, Method: m, MinBackoff: time.Hour, MaxBackoff: time.Hour, ExitOnErr: exitOnErr,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	if !exitOnErr {
		for !strings.Contains(logs.String(), "login failed") && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}
	err = <-done
	text := logs.String()
	if err != nil {
		text += err.Error()
	}
	if exitOnErr && err == nil || !exitOnErr && !strings.Contains(text, "login failed") {
		t.Fatalf("the login did not fail: %v\n%s", err, text)
	}
	return l, text
}

// rotor's own login credentials (a secret_id, a role_id, a JWT, a token
// from a file) never show in a log line or an error, even when Vault's
// answer quotes them; and the agent can hide them everywhere else
// (Credentials).
func TestLoginCredentialsAreRedacted(t *testing.T) {
	dir := t.TempDir()
	creds := map[string]string{
		"role_id":   "role-id-0123456789-abcdef-ROLE",
		"secret_id": "secret-id-0123456789-abcdef-SECRET",
		"jwt":       "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl-JWT",
		"token":     "hvs.token-from-a-file-0123456789-TOKEN",
	}
	for k, v := range creds {
		os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o600)
	}
	methods := map[string]MethodOptions{
		"approle": {Type: "approle", MountPath: "auth/approle", AppRole: &AppRoleOptions{
			RoleIDFilePath: filepath.Join(dir, "role_id"), SecretIDFilePath: filepath.Join(dir, "secret_id")}},
		"jwt":        {Type: "jwt", MountPath: "auth/jwt", JWT: &JWTOptions{Path: filepath.Join(dir, "jwt"), Role: "r"}},
		"kubernetes": {Type: "kubernetes", MountPath: "auth/kubernetes", Kubernetes: &KubernetesOptions{TokenPath: filepath.Join(dir, "jwt"), Role: "r"}},
		"token_file": {Type: "token_file", TokenFile: &TokenFileOptions{Path: filepath.Join(dir, "token")}},
	}
	addr := echoVault(t)
	for name, mo := range methods {
		for _, exit := range []bool{true, false} {
			m, err := NewMethod(mo, vaultclient.Config{Address: addr}, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, text := failedLogin(t, m, addr, exit)
			if !strings.Contains(text, "bad request") {
				t.Fatalf("%s: Vault's error is not shown: %s", name, text)
			}
			for k, v := range creds {
				for i := 0; i+redact.Window <= len(v); i++ {
					if strings.Contains(text, v[i:i+redact.Window]) {
						t.Fatalf("%s (exit_on_err %v): the %s shows: %s", name, exit, k, text)
					}
				}
			}
			got := slices.Collect(l.Credentials())
			for _, k := range map[string][]string{"approle": {"role_id", "secret_id"}, "jwt": {"jwt"}, "kubernetes": {"jwt"}, "token_file": {"token"}}[name] {
				if !slices.Contains(got, creds[k]) {
					t.Errorf("%s: Credentials() lacks the %s", name, k)
				}
			}
		}
	}
}

// A login that fails on the machine's own identity (here, a secret_id
// file that does not exist) is logged as credentials_unavailable, not as
// Vault being unavailable; one Vault refuses keeps Vault's class.
func TestLoginFailureClass(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "role_id"), []byte("role"), 0o600)
	os.WriteFile(filepath.Join(dir, "secret_id"), []byte("secret"), 0o600)
	addr := echoVault(t) // answers every login 400
	for _, c := range []struct {
		secretID, want string
	}{
		{filepath.Join(dir, "missing"), "error_class=credentials_unavailable"},
		{filepath.Join(dir, "secret_id"), "error_class=invalid_request"},
	} {
		m, err := NewMethod(MethodOptions{Type: "approle", MountPath: "auth/approle", AppRole: &AppRoleOptions{
			RoleIDFilePath: filepath.Join(dir, "role_id"), SecretIDFilePath: c.secretID}}, vaultclient.Config{Address: addr}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, logs := failedLogin(t, m, addr, false)
		if !strings.Contains(logs, c.want) {
			t.Errorf("secret_id_file_path %s: want %s in the log:\n%s", filepath.Base(c.secretID), c.want, logs)
		}
	}
}
