package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/test/harness/proc"
)

// rotor validate -online logs in with the configuration's method but must
// leave its credential files in place, even where the method removes them
// after reading (the agent's own login reads them next).
func TestPreflightLoginKeepsCredentialFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("value"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]auth.MethodOptions{
		"approle": {Type: "approle", MountPath: "auth/approle", AppRole: &auth.AppRoleOptions{
			RoleIDFilePath: file("role-id"), SecretIDFilePath: file("secret-id"), RemoveSecretIDFileAfterReading: true}},
		"jwt": {Type: "jwt", MountPath: "auth/jwt", JWT: &auth.JWTOptions{Path: file("jwt"), Role: "r", RemoveJWTAfterReading: true}},
		"ldap": {Type: "ldap", MountPath: "auth/ldap", LDAP: &auth.LDAPOptions{
			Username: "alice", PasswordFilePath: file("password"), RemovePasswordAfterReading: true}},
	}
	// Nothing listens there: the login fails after reading its files.
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Address = fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			s := &settings{auth: &authSettings{method: m}}
			ao, _, err := preflightAuth(s, PreflightOptions{}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ao.Method.Login(context.Background(), c); err == nil {
				t.Fatal("login succeeded with nothing listening")
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 4 {
				names := []string{}
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Fatalf("credential files left after a check's login: %v, want all 4", names)
			}
		})
	}
}
