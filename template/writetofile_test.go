package template

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/lease"
)

// runOnceErr is renderOnce that returns Run's error.
func runOnceErr(t *testing.T, specs ...Spec) error {
	t.Helper()
	srv := httptest.NewServer(kvVault())
	t.Cleanup(srv.Close)
	c, err := vaultclient.New(vaultclient.Config{Address: srv.URL}, vaultclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store := lease.NewStore(lease.Options{Client: c, Policy: lease.Policy{Threshold: 0.9, StaticInterval: time.Hour}})
	store.SetToken(auth.NewToken(&api.Secret{Auth: &api.SecretAuth{ClientToken: "t", LeaseDuration: 3600}}, time.Now()))
	r, err := New(specs, nil, Options{Store: store, Once: true, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return r.Run(ctx)
}

// writeToFile is a side effect of publishing its template: when the
// certificate check refuses to publish the group, it writes nothing
// either (the previous files are all kept), and it writes once the
// template publishes.
func TestWriteToFileWaitsForThePublish(t *testing.T) {
	p := newTestPKI(t)
	expired := p.issue("a.example.com", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	dir := t.TempDir()
	dest, side := filepath.Join(dir, "bundle.pem"), filepath.Join(dir, "side.txt")
	bundle := expired["certificate"].(string) + "\n" + expired["private_key"].(string) + "\n"
	write := `{{ writeToFile "` + side + `" "" "" "0600" "side effect" }}`
	for _, fast := range []bool{true, false} {
		os.Remove(side)
		text := bundle + write
		if !fast {
			text += `{{ "x" | toJSON }}` // executed by consul-template, not rotor's own execution
		}
		err := runOnceErr(t, Spec{Contents: text, Destination: dest, Perms: 0o600})
		if err == nil || !strings.Contains(err.Error(), "previous files kept") {
			t.Fatalf("an expired certificate was published: %v", err)
		}
		if _, err := os.Lstat(side); err == nil {
			t.Fatalf("own execution %v: writeToFile wrote although its template was not published", fast)
		}
		if _, err := os.Lstat(dest); err == nil {
			t.Fatal("the destination was written")
		}
	}
	if err := runOnceErr(t, Spec{Contents: "ok" + write, Destination: dest, Perms: 0o600}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(side); err != nil || string(b) != "side effect" {
		t.Fatalf("after the publish: %q, %v", b, err)
	}
	if st, _ := os.Stat(side); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

// writeToFile writes only below sandbox_path, when one is set.
func TestWriteToFileRespectsTheSandbox(t *testing.T) {
	dir := t.TempDir()
	sandbox, outside := filepath.Join(dir, "sandbox"), filepath.Join(dir, "outside.txt")
	os.Mkdir(sandbox, 0o700)
	os.Symlink(dir, filepath.Join(sandbox, "escape"))
	for _, target := range []string{outside, filepath.Join(sandbox, "..", "outside.txt"), filepath.Join(sandbox, "escape", "outside.txt")} {
		err := runOnceErr(t, Spec{Contents: `{{ writeToFile "` + target + `" "" "" "0600" "x" }}`,
			Destination: filepath.Join(dir, "out"), Perms: 0o600, SandboxPath: sandbox})
		if err == nil || !strings.Contains(err.Error(), "outside sandbox_path") {
			t.Errorf("%s: %v", target, err)
		}
		if _, err := os.Lstat(outside); err == nil {
			t.Fatalf("%s: written outside the sandbox", target)
		}
	}
	inside := filepath.Join(sandbox, "sub", "in.txt")
	if err := runOnceErr(t, Spec{Contents: `{{ writeToFile "` + inside + `" "" "" "0640" "a" }}{{ writeToFile "` + inside + `" "" "" "0640" "append,newline" "b" }}`,
		Destination: filepath.Join(dir, "out"), Perms: 0o600, SandboxPath: sandbox}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(inside); err != nil || string(b) != "ab\n" {
		t.Fatalf("inside the sandbox: %q, %v", b, err)
	}
}
