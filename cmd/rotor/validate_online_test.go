package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// validateOnline runs rotor validate -online -format json with args and
// returns its exit code and decoded report.
func validateOnline(t *testing.T, env []string, args ...string) (int, agent.Report, string) {
	t.Helper()
	return validateOnlineStdin(t, env, "", args...)
}

// validateOnlineStdin is validateOnline with stdin as its standard input.
func validateOnlineStdin(t *testing.T, env []string, stdin string, args ...string) (int, agent.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"validate", "-online", "-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rotor validate: %v\n%s", err, stderr.String())
	}
	var rep agent.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the JSON output does not decode: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	checkNoLeaks(t, stdout.String()+stderr.String())
	if vaulttest.Leaks(stdout.String()+stderr.String()) != nil {
		t.Errorf("the output holds a secret Vault answered with")
	}
	return cmd.ProcessState.ExitCode(), rep, stderr.String()
}

func TestValidateOnlineExitCodesAndJSON(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	if _, err := root.Logical().Write("secret/data/app", map[string]any{"data": map[string]any{"user": "alice"}}); err != nil {
		t.Fatal(err)
	}
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app" { capabilities = ["read"] }`)
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	token := tok.Auth.ClientToken
	dir, creds := t.TempDir(), t.TempDir()
	tokenFile := filepath.Join(creds, "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	good := `auto_auth {
  method "token_file" { config = { token_file_path = "` + tokenFile + `" } }
}
template {
  contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.user }}{{ end }}"
  destination = "` + filepath.Join(dir, "ok") + `"
  error_on_missing_key = true
}
`
	bad := good + `
template {
  contents    = "{{ with secret \"secret/other\" }}{{ .Data.data.x }}{{ end }}"
  destination = "` + filepath.Join(dir, "denied") + `"
}
`
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	goodFile, badFile := write("good.hcl", good), write("bad.hcl", bad)
	env := []string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN="}

	// A given token: used, never revoked.
	code, rep, _ := validateOnline(t, env, "-token", token, "-config", goodFile)
	if code != 0 || !rep.OK || len(rep.Parts) != 1 || rep.Parts[0].Status != "ok" {
		t.Errorf("correct config: exit %d, report %+v; want 0, ok", code, rep)
	}
	code, rep, _ = validateOnline(t, env, "-token", token, "-config", badFile)
	if code != 1 || rep.OK || len(rep.Parts) != 2 {
		t.Fatalf("denied path: exit %d, report %+v; want 1 and two parts", code, rep)
	}
	p := rep.Parts[1]
	if p.Status != "denied" || p.Name != filepath.Join(dir, "denied") || p.Position != badFile+":10:1" ||
		len(p.Problems) != 1 || p.Problems[0].Path != "secret/data/other" || p.Problems[0].Capability != "read" {
		t.Errorf("denied template: %+v", p)
	}
	if rep.TokenRevoked {
		t.Errorf("a token given with -token was revoked")
	}
	if _, err := root.Auth().Token().Lookup(token); err != nil {
		t.Errorf("the token given with -token no longer works: %v", err)
	}

	// -token - reads it from standard input.
	code, rep, _ = validateOnlineStdin(t, env, token+"\n", "-token", "-", "-config", goodFile)
	if code != 0 || rep.Auth != "-token" {
		t.Errorf("-token -: exit %d, auth %q; want 0, -token", code, rep.Auth)
	}

	// The config's token_file method: its token is borrowed, not revoked.
	code, rep, _ = validateOnline(t, env, "-config", goodFile)
	if code != 0 || !strings.Contains(rep.Auth, "token_file") || rep.TokenRevoked {
		t.Errorf("token_file: exit %d, auth %q, revoked %v; want 0, token_file, not revoked", code, rep.Auth, rep.TokenRevoked)
	}
	if _, err := root.Auth().Token().Lookup(token); err != nil {
		t.Errorf("the token_file's token no longer works: %v", err)
	}

	// Vault unreachable: exit 2, the reason in the JSON.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	code, rep, stderr := validateOnline(t, []string{"VAULT_ADDR=http://" + closed, "VAULT_TOKEN="}, "-token", token, "-config", goodFile)
	if code != 2 || rep.Error == "" || !strings.Contains(stderr, "cannot check") {
		t.Errorf("unreachable Vault: exit %d, error %q, stderr %q; want 2 and the reason", code, rep.Error, stderr)
	}
	if strings.Contains(fmt.Sprint(rep.Error, stderr), token) {
		t.Errorf("the output shows the token")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files in the destination directory: %v; want only the two configs", entries)
	}
}
