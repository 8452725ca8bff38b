//go:build unix

package agent

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/agent/config"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// A template without perms gets 0644 with the process umask applied
// (systemd's UMask=0077 makes it 0600); perms, when set, is exact. The
// umask is read once per process, so each umask runs in a child process.
func TestTemplatePermsHonourUmask(t *testing.T) {
	if m := os.Getenv("ROTOR_TEST_UMASK"); m != "" {
		var umask int
		fmt.Sscanf(m, "%o", &umask)
		syscall.Umask(umask)
		s := translate(&config.Config{Templates: []*config.Template{
			{Destination: "/unset"}, {Destination: "/explicit-0644", Perms: 0o644}, {Destination: "/explicit-0640", Perms: 0o640},
		}})
		fmt.Printf("perms %o %o %o\n", s.templates[0].Perms, s.templates[1].Perms, s.templates[2].Perms)
		return
	}
	for umask, want := range map[string]string{"022": "perms 644 644 640", "077": "perms 600 644 640", "027": "perms 640 644 640"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTemplatePermsHonourUmask$")
		cmd.Env = append(os.Environ(), "ROTOR_TEST_UMASK="+umask)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), want+"\n") {
			t.Errorf("umask %s: want %q, got %v:\n%s", umask, want, err, out)
		}
	}
}

// A start warns once about tls_skip_verify and once about a plain http
// address to another host, naming the address without its userinfo.
func TestWarnInsecureVault(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		skip   bool
		warned []string
	}{
		{"https://vault.example.com:8200", false, nil},
		{"http://127.0.0.1:8200", false, nil},
		{"http://localhost:8200", false, nil},
		{"http://[::1]:8200", false, nil},
		{"https://vault.example.com:8200", true, []string{"tls_skip_verify"}},
		{"http://10.0.0.7:8200", false, []string{"plain http"}},
		{"http://admin:hunter2@vault.internal:8200", true, []string{"tls_skip_verify", "plain http"}},
	} {
		var logs bytes.Buffer
		cfg := &config.Config{Vault: config.Vault{Address: tc.addr, TLSSkipVerify: tc.skip}}
		if _, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}); err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		got := logs.String()
		if n := strings.Count(got, "level=WARN"); n != len(tc.warned) {
			t.Errorf("%s skip=%v: %d warnings, want %d:\n%s", tc.addr, tc.skip, n, len(tc.warned), got)
		}
		for _, w := range tc.warned {
			if strings.Count(got, w) != 1 || !strings.Contains(got, "address=") {
				t.Errorf("%s: no single warning about %q with the address:\n%s", tc.addr, w, got)
			}
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("the address's password is logged:\n%s", got)
		}
	}
}

// A write killed between creating its temporary file and renaming it
// leaves a secret in .<name>.tmp-<digits>; the next start removes it
// before writing anything, and leaves other files alone.
func TestStartRemovesLeftoverTempFiles(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	if _, err := root.KVv2("secret").Put(t.Context(), "app", map[string]any{"password": "one"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, sinkPath, pid := filepath.Join(dir, "app.env"), filepath.Join(dir, "run", "token"), filepath.Join(dir, "rotor.pid")
	os.MkdirAll(filepath.Dir(sinkPath), 0o700)
	leftovers := []string{writeFile(t, dir, ".app.env.tmp-1234567", "PASSWORD=old"), writeFile(t, dir, ".app.env.bak.tmp-42", "x"),
		writeFile(t, filepath.Dir(sinkPath), ".token.tmp-99", "hvs.old"), writeFile(t, dir, ".rotor.pid.tmp-5", "1")}
	other := writeFile(t, dir, ".app.env.tmp-notdigits", "keep")
	auth := strings.TrimSuffix(appRoleAuth(t, root, `path "secret/data/app" { capabilities = ["read"] }`, nil), "}")
	r := startAgent(t, srv, auth+fmt.Sprintf(`
  sink "file" {
    config = { path = %q }
  }
}
pid_file = %q
template {
  contents    = "{{ with secret \"secret/app\" }}PASSWORD={{ .Data.data.password }}{{ end }}"
  destination = %q
}`, sinkPath, pid, out))
	waitContent(t, out, func(s string) bool { return s == "PASSWORD=one" }, 30*time.Second)
	for _, p := range leftovers {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
		if !strings.Contains(r.logs.String(), p) {
			t.Errorf("its removal is not logged: %s", p)
		}
	}
	if _, err := os.Lstat(other); err != nil {
		t.Errorf("%s was removed", other)
	}
}

// A named pipe at the pid file or a sink stops rotor at once with an
// error naming the path and what is there; it used to hang forever.
func TestFIFOAtPidFileOrSinkIsRefused(t *testing.T) {
	fifo := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { // release a reader stuck on it, if any
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		})
		return p
	}
	check := func(t *testing.T, r *running, p string) {
		t.Helper()
		err := r.wait(t, 20*time.Second)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "named pipe") {
			t.Fatalf("got %v, want an error naming %s as a named pipe", err, p)
		}
	}
	t.Run("pid_file", func(t *testing.T) {
		p := fifo(t)
		a, err := New(&config.Config{Vault: config.Vault{Address: "http://127.0.0.1:1"}, PidFile: p}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := &running{agent: a, logs: &vaulttest.Buffer{}, done: make(chan struct{})}
		go func() { r.err = a.Run(t.Context()); close(r.done) }()
		check(t, r, p)
	})
	t.Run("sink", func(t *testing.T) {
		srv := vaulttest.Start(t)
		p := fifo(t)
		auth := strings.TrimSuffix(appRoleAuth(t, srv.Client(t), `path "secret/*" { capabilities = ["read"] }`, nil), "}")
		check(t, startAgent(t, srv, auth+fmt.Sprintf(`
  sink "file" {
    config = { path = %q }
  }
}`, p)), p)
	})
}
