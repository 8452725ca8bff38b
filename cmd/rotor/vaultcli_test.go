package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// vaultLink is rotor under the name vault, as the vault-k8s image has it.
func vaultLink(t *testing.T) string {
	t.Helper()
	link := filepath.Join(t.TempDir(), "vault")
	if err := os.Symlink(binary(t), link); err != nil {
		t.Fatal(err)
	}
	return link
}

// runVaultCLI runs the vault link with env (on a clean environment and an
// empty HOME) and returns its stdout, stderr and exit code.
func runVaultCLI(t *testing.T, vault string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(vault, args...)
	cmd.Env = proc.CleanEnv(append([]string{"HOME=" + t.TempDir()}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("vault %v did not exit", args)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// Named vault, rotor answers the injector's commands and refuses every
// other one with a message naming the real Vault CLI, without repeating
// an argument that may be a secret. Named rotor, it is rotor.
func TestVaultNameRefusesOtherCommands(t *testing.T) {
	vault := vaultLink(t)
	for _, tc := range []struct {
		args    []string
		env     []string
		want    string
		avoid   string
		realCLI bool // the command is not answered: the message names the real CLI
	}{
		{args: []string{"kv", "get", "-field=password", "secret/app"}, want: `"vault kv get" is not available here`, realCLI: true},
		{args: []string{"login", "hvs.NOTTOBEPRINTED0123"}, want: `"vault login" is not available here`, avoid: "NOTTOBEPRINTED", realCLI: true},
		{args: []string{"write", "auth/approle/login", "secret_id=NOTTOBEPRINTED"}, want: `"vault write" is not available here`, avoid: "NOTTOBEPRINTED", realCLI: true},
		{args: []string{"token", "revoke", "hvs.NOTTOBEPRINTED0123"}, want: `only "vault token revoke -self"`, avoid: "NOTTOBEPRINTED", realCLI: true},
		{args: []string{"token", "revoke", "-self=hvs.NOTTOBEPRINTED0123"}, want: "invalid boolean value (value not shown) for -self", avoid: "NOTTOBEPRINTED"},
		{args: []string{"agent", "-exit-after-auth=NOTTOBEPRINTED", "-config=/x.hcl"}, want: "for -exit-after-auth", avoid: "NOTTOBEPRINTED"},
		{args: []string{"token", "lookup"}, want: `"vault token lookup" is not available here`, realCLI: true},
		{args: []string{"agent", "-config=/x.hcl", "-address=https://vault:8200"}, want: "flag provided but not defined: -address", realCLI: true},
		{args: []string{"agent"}, want: "at least one config path must be specified with -config"},
		{args: []string{"proxy", "-config=/x.hcl", "extra"}, want: "too many arguments"},
		{args: []string{"agent", "-config=/x.hcl"}, env: []string{"VAULT_LOG_LEVEL=loud"}, want: `unknown log level "loud"`},
		{args: []string{"agent", "-config=/x.hcl"}, env: []string{"VAULT_LOG_FORMAT=xml"}, want: `unknown log format "xml"`},
		{args: []string{}, want: "It answers only", realCLI: true},
	} {
		_, stderr, code := runVaultCLI(t, vault, tc.env, tc.args...)
		if code != exitVaultLocal || !strings.Contains(stderr, tc.want) {
			t.Errorf("vault %v: exit %d, want %d with %q:\n%s", tc.args, code, exitVaultLocal, tc.want, stderr)
		}
		if tc.realCLI && !strings.Contains(stderr, "real Vault CLI") {
			t.Errorf("vault %v: the message does not name the real Vault CLI:\n%s", tc.args, stderr)
		}
		if tc.avoid != "" && strings.Contains(stderr, tc.avoid) {
			t.Errorf("vault %v: the message repeats the argument:\n%s", tc.args, stderr)
		}
	}
	stdout, _, code := runVaultCLI(t, vault, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "rotor ") {
		t.Errorf("vault version: exit %d: %q", code, stdout)
	}
	_, stderr, code := runVaultCLI(t, binary(t), nil, "token", "revoke", "-self")
	if code != exitUsage || !strings.Contains(stderr, `rotor: unknown command "token"`) {
		t.Errorf("rotor token: exit %d:\n%s", code, stderr)
	}
}

// vault token revoke -self uses the token the Vault CLI would
// (VAULT_TOKEN, else ~/.vault-token), at -address or VAULT_ADDR, with the
// CLI's retries changed by VAULT_MAX_RETRIES and its request timeout by
// VAULT_CLIENT_TIMEOUT, as the injector's annotations set them.
func TestVaultTokenRevokeSelf(t *testing.T) {
	vault := vaultLink(t)
	var hits atomic.Int32
	var lastToken atomic.Value
	status := atomic.Int32{}
	status.Store(http.StatusNoContent)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		lastToken.Store(r.Header.Get("X-Vault-Token"))
		if r.URL.Path != "/v1/auth/token/revoke-self" || r.Method != http.MethodPut {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		if status.Load() == 0 { // hang until the client gives up
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	defer close(release)

	// The token helper's file in HOME, as the agent's sink in the injector's
	// container (HOME=/home/vault).
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".vault-token"), []byte("sink-token-0123456789\n"), 0o600)
	run := func(env []string, args ...string) (string, string, int) {
		hits.Store(0)
		return runVaultCLI(t, vault, append([]string{"HOME=" + home}, env...), append([]string{"token", "revoke"}, args...)...)
	}

	out, stderr, code := run(nil, "-address="+srv.URL, "-self")
	if code != 0 || strings.TrimSpace(out) != "Success! Revoked token (if it existed)" || lastToken.Load() != "sink-token-0123456789" {
		t.Errorf("with ~/.vault-token: exit %d, token sent %q: %s%s", code, lastToken.Load(), out, stderr)
	}
	out, stderr, code = run([]string{"VAULT_ADDR=" + srv.URL, "VAULT_TOKEN=env-token-0123456789"}, "-self")
	if code != 0 || lastToken.Load() != "env-token-0123456789" {
		t.Errorf("with VAULT_TOKEN and VAULT_ADDR: exit %d, token sent %q: %s%s", code, lastToken.Load(), out, stderr)
	}
	if strings.Contains(out+stderr, "0123456789") {
		t.Errorf("the token was printed: %s%s", out, stderr)
	}

	// No token: the file does not exist.
	_, stderr, code = runVaultCLI(t, vault, nil, "token", "revoke", "-address="+srv.URL, "-self")
	if code != exitVaultRemote || !strings.Contains(stderr, "no token to revoke") || !strings.Contains(stderr, ".vault-token") {
		t.Errorf("without a token: exit %d:\n%s", code, stderr)
	}

	// Vault fails: the CLI retries twice by default; VAULT_MAX_RETRIES=0
	// sends one request.
	status.Store(http.StatusInternalServerError)
	for _, tc := range []struct {
		env  []string
		want int32
	}{{[]string{"VAULT_MAX_RETRIES=0"}, 1}, {[]string{"VAULT_MAX_RETRIES=1"}, 2}} {
		_, stderr, code := run(tc.env, "-address="+srv.URL, "-self")
		if code != exitVaultRemote || !strings.Contains(stderr, "Error revoking token") || hits.Load() != tc.want {
			t.Errorf("%v: exit %d after %d requests, want %d with %d:\n%s", tc.env, code, hits.Load(), exitVaultRemote, tc.want, stderr)
		}
	}

	// Vault does not answer: VAULT_CLIENT_TIMEOUT=1 gives up after a second
	// (the CLI's default is 60s).
	status.Store(0)
	began := time.Now()
	_, stderr, code = run([]string{"VAULT_CLIENT_TIMEOUT=1", "VAULT_MAX_RETRIES=0"}, "-address="+srv.URL, "-self")
	if code != exitVaultRemote || time.Since(began) > 30*time.Second {
		t.Errorf("VAULT_CLIENT_TIMEOUT=1: exit %d after %v:\n%s", code, time.Since(began), stderr)
	}
}
