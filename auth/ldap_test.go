package auth

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// rotor's ldap login is Vault Agent's, byte for byte: the path, and the
// password exactly as the file holds it (a trailing newline too). Both
// remove the file after reading it, or, with
// remove_password_follows_symlinks, the file a symlink points to.
func TestLDAPMatchesVaultAgent(t *testing.T) {
	rec := newRecorder(t)
	cases := []struct {
		name, content string
		cfg           map[string]any
		symlink       bool
	}{
		{"plain", "s3cret-Pass", nil, false},
		{"trailing newline", "s3cret-Pass\n", nil, false},
		{"kept", "kept-Pass", map[string]any{"remove_password_after_reading": false}, false},
		{"symlink, link removed", "linked-Pass", nil, true},
		{"symlink, target removed", "linked-Pass", map[string]any{"remove_password_follows_symlinks": "true"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(who string) (loginRequest, [2]bool) {
				dir := t.TempDir()
				target := writeTestFile(t, dir, "pw", c.content)
				p := target
				if c.symlink {
					p = filepath.Join(dir, "link")
					if err := os.Symlink(target, p); err != nil {
						t.Fatal(err)
					}
				}
				cfg := map[string]any{"username": "alice", "password_file_path": p}
				for k, v := range c.cfg {
					cfg[k] = v
				}
				var got loginRequest
				if who == "vault agent" {
					got = vaultAgentLogin(t, nil, "ldap", cfg, "auth/ldap", rec.URL)
				} else {
					o := LDAPOptions{Username: "alice", PasswordFilePath: p, RemovePasswordAfterReading: c.cfg["remove_password_after_reading"] == nil,
						RemovePasswordFollowsSymlinks: c.cfg["remove_password_follows_symlinks"] != nil}
					m, err := newLDAP("auth/ldap", o, nil)
					if err != nil {
						t.Fatal(err)
					}
					got = rec.login(t, m)
					got.Header = nil
				}
				_, e1 := os.Lstat(p)
				_, e2 := os.Lstat(target)
				return got, [2]bool{e1 == nil, e2 == nil}
			}
			va, vaFiles := run("vault agent")
			ro, roFiles := run("rotor")
			if ro.Path != va.Path || !reflect.DeepEqual(ro.Body, va.Body) {
				t.Fatalf("rotor sent %s %q, Vault Agent %s %q", ro.Path, ro.Body, va.Path, va.Body)
			}
			if ro.Body["password"] != c.content {
				t.Fatalf("password %q, want the file's %q", ro.Body["password"], c.content)
			}
			if roFiles != vaFiles {
				t.Fatalf("files left (path, target): rotor %v, Vault Agent %v", roFiles, vaFiles)
			}
		})
	}
}

// Once the file is gone (removed after reading), later logins reuse the
// password; an empty file keeps it too; a new file's password replaces it.
// Without any password the error names the file and is a credentials
// error.
func TestLDAPPasswordLifecycle(t *testing.T) {
	rec := newRecorder(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	m, err := newLDAP("auth/ldap", LDAPOptions{Username: "bob", PasswordFilePath: p, RemovePasswordAfterReading: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := rec.client(t)
	if _, err := m.Login(t.Context(), c); !errors.Is(err, ErrCredentials) || !containsAll(err.Error(), p) {
		t.Fatalf("no password yet: %v", err)
	}
	steps := []struct{ file, want string }{
		{"first", "first"},
		{"", "first"}, // no file: the last password
		{"\x00empty", "first"},
		{"second", "second"},
	}
	for i, s := range steps {
		switch s.file {
		case "":
		case "\x00empty":
			writeTestFile(t, dir, "pw", "")
		default:
			writeTestFile(t, dir, "pw", s.file)
		}
		got := rec.login(t, m)
		if got.Body["password"] != s.want || got.Path != "auth/ldap/login/bob" {
			t.Fatalf("step %d: sent %s with %q, want %q", i, got.Path, got.Body["password"], s.want)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatalf("step %d: the file was not removed", i)
		}
	}
}
