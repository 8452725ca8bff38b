package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// kvSetup is a dev Vault with one KV v2 secret, and a token (not rotor's)
// allowed to read it, written to a token file.
func kvSetup(t *testing.T) (srv *vaulttest.Server, token, tokenFile, dir string) {
	srv = vaulttest.Start(t)
	root := srv.Client(t)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"v": "kv-value"}); err != nil {
		t.Fatal(err)
	}
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update"] }`)
	sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	tokenFile = filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(sec.Auth.ClientToken), 0o600)
	return srv, sec.Auth.ClientToken, tokenFile, dir
}

// rotor exec revokes what it created when the command exits, but a token
// it was given (token_file) belongs to someone else: revoking it would
// also revoke that owner's child tokens and leases.
func TestExecDoesNotRevokeABorrowedToken(t *testing.T) {
	srv, token, tokenFile, dir := kvSetup(t)
	owner := srv.Client(t)
	owner.SetToken(token)
	child, err := owner.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rotor.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "token_file" {
    config = { token_file_path = %q }
  }
}
`, srv.Addr, tokenFile)), 0o600)
	p := start(t, "exec", "-config", cfg, "-env", `V={{ with secret "secret/app" }}{{ .Data.data.v }}{{ end }}`,
		"--", "sh", "-c", `test "$V" = kv-value`)
	if code := p.exitCode(t, 60*time.Second); code != 0 {
		t.Fatalf("rotor exec exit %d:\n%s", code, p.out)
	}
	for name, tok := range map[string]string{"the token file's token": token, "its child token": child.Auth.ClientToken} {
		c := srv.Client(t)
		c.SetToken(tok)
		if _, err := c.Auth().Token().LookupSelf(); err != nil {
			t.Errorf("%s was revoked by rotor exec: %v", name, err)
		}
	}
	if !strings.Contains(p.out.String(), "token not revoked: rotor did not create it") {
		t.Errorf("rotor did not say why it kept the token:\n%s", p.out)
	}
}

// Reload commands and the supervised child do not inherit the variables
// rotor read credentials from (VAULT_TOKEN, the state key), unless an
// env_template passes one on explicitly.
func TestChildrenDoNotInheritCredentialVariables(t *testing.T) {
	srv, token, tokenFile, dir := kvSetup(t)
	childEnv := filepath.Join(dir, "child.env")
	p := startEnv(t, []string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN=" + token, "BAO_TOKEN=" + token, "ROTOR_STATE_KEY=not-for-children-0123456789"},
		"exec", "-env", `V={{ with secret "secret/app" }}{{ .Data.data.v }}{{ end }}`,
		"--", "sh", "-c", "env > "+childEnv)
	if code := p.exitCode(t, 60*time.Second); code != 0 {
		t.Fatalf("rotor exec exit %d:\n%s", code, p.out)
	}
	b, _ := os.ReadFile(childEnv)
	if !strings.Contains(string(b), "V=kv-value") {
		t.Fatalf("the child lacks its env_template value:\n%s", b)
	}
	if strings.Contains(string(b), "VAULT_TOKEN=") || strings.Contains(string(b), token) {
		t.Fatalf("the child inherited VAULT_TOKEN")
	}
	if strings.Contains(string(b), "BAO_TOKEN=") {
		t.Fatalf("the child inherited BAO_TOKEN")
	}

	// Explicitly passed on: present.
	p = startEnv(t, []string{"VAULT_ADDR=" + srv.Addr, "VAULT_TOKEN=" + token},
		"exec", "-env", `VAULT_TOKEN={{ env "VAULT_TOKEN" }}`, "--", "sh", "-c", "env > "+childEnv)
	if code := p.exitCode(t, 60*time.Second); code != 0 {
		t.Fatalf("rotor exec exit %d:\n%s", code, p.out)
	}
	if b, _ := os.ReadFile(childEnv); !strings.Contains(string(b), "VAULT_TOKEN="+token) {
		t.Fatal("VAULT_TOKEN passed by an env_template did not reach the child")
	}

	// A reload command, with a state key in the environment.
	cmdEnv, out := filepath.Join(dir, "cmd.env"), filepath.Join(dir, "out.txt")
	cfg := filepath.Join(dir, "agent.hcl")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
vault { address = %q }
auto_auth {
  method "token_file" {
    config = { token_file_path = %q }
  }
}
state {
  dir     = %q
  key_env = "ROTOR_STATE_KEY"
}
template {
  contents    = "{{ with secret \"secret/app\" }}{{ .Data.data.v }}{{ end }}"
  destination = %q
  command     = "env > %s"
}
`, srv.Addr, tokenFile, filepath.Join(dir, "state"), out, cmdEnv)), 0o600)
	startEnv(t, []string{"VAULT_TOKEN=" + token, "ROTOR_STATE_KEY=not-for-children-0123456789"}, "agent", "-config", cfg)
	vaulttest.Eventually(t, 30*time.Second, func() error {
		if b, _ := os.ReadFile(cmdEnv); !strings.Contains(string(b), "PATH=") {
			return errors.New("reload command has not run")
		}
		return nil
	})
	b, _ = os.ReadFile(cmdEnv)
	for _, v := range []string{"VAULT_TOKEN=", "ROTOR_STATE_KEY=", token, "not-for-children"} {
		if strings.Contains(string(b), v) {
			t.Fatalf("the reload command inherited %q", v)
		}
	}
}
