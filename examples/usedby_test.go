package examples

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/nginxtest"
	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// TestUsedBy runs the examples that put the shipped files under configs/
// to work (a real nginx, a real PostgreSQL, the Kubernetes manifests'
// ConfigMaps, the systemd unit) against a throwaway Vault, and checks that
// each prints its key lines in order.
func TestUsedBy(t *testing.T) {
	vault := vaulttest.VaultBin(t)
	// The nginx and PostgreSQL binaries are found as the Go integration
	// tests find them (skipping when missing, unless
	// ROTOR_REQUIRE_INTEGRATION=1) and handed to the scripts.
	nginx := func(t *testing.T) []string { return []string{nginxtest.EnvNginxBin + "=" + nginxtest.Bin(t)} }
	postgres := func(t *testing.T) []string { return []string{pgtest.EnvBinDir + "=" + pgtest.BinDir(t)} }
	cases := []struct {
		name  string
		needs func(t *testing.T) []string
		want  []string // in this order
		also  []string // anywhere: lines of two processes may interleave
	}{
		{"nginx", nginx, []string{
			"nginx serves: subject=CN = placeholder (not from Vault)",
			"configuration is valid",
			"nginx serves the certificate from Vault: subject=CN = api.internal.example.com issuer=CN = Demo Intermediate CA",
			"curl, verifying against Vault's root CA: hello from nginx",
			"nginx serves the rotated certificate: subject=CN = api.internal.example.com",
			"rotor exited 0",
		}, []string{"reload command succeeded"}},
		{"postgres", postgres, []string{
			"configuration is valid",
			"app:   v-approle-myapp-re",
			" 2 gadget",
			"PGPASSWORD=[redacted]",
			"(2 rows)",
			"rotor exited 0",
			"PostgreSQL roles named v-approle-myapp-re",
			"the old DATABASE_URL no longer logs in",
		}, []string{"reload command succeeded"}},
		{"kubernetes", postgres, []string{
			"configs/kubernetes/sidecar.yaml",
			"configuration is valid",
			`method "approle"`,
			"rotor exited 0",
			"db.env", "tls.crt", "tls.key",
			": widget, gadget",
			"issuer=CN = Demo Intermediate CA",
			"tls.key matches tls.crt",
			"configs/kubernetes/init-container.yaml",
			"exit_after_auth ends it",
			"rotor exited 0",
			": widget, gadget",
			"tls.key matches tls.crt",
		}, nil},
		{"systemd", nil, []string{
			"systemd <- READY=1",
			"systemd <- RELOADING=1 MONOTONIC_USEC=",
			"systemd <- READY=1",
			"server.key",
			"systemd <- STOPPING=1",
			"rotor exited 0",
			"what rotor told systemd",
			"READY=1", "RELOADING=1", "READY=1", "STOPPING=1",
		}, []string{"systemd <- WATCHDOG=1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := append(os.Environ(), "PATH="+filepath.Dir(vault)+":"+os.Getenv("PATH"))
			if tc.needs != nil {
				env = append(env, tc.needs(t)...)
			}
			out := runUsedBy(t, tc.name, env)
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%s/run.sh output lacks %q (after the lines checked before it):\n%s", tc.name, w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tc.also {
				if !strings.Contains(out, w) {
					t.Errorf("%s/run.sh output lacks %q:\n%s", tc.name, w, out)
				}
			}
		})
	}
}

// runUsedBy runs examples/<name>/run.sh with env and returns its output,
// failing the test if it exits non-zero or runs past its timeout.
func runUsedBy(t *testing.T, name string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(name, "run.sh"))
	cmd.Env = env
	// bash's trap stops what the script started on INT; SIGKILL would leave
	// Vault, nginx or PostgreSQL running.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 20 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s/run.sh: %v (after %v)\n%s", name, err, time.Since(start).Round(time.Second), out)
	}
	t.Logf("%s/run.sh passed in %v", name, time.Since(start).Round(100*time.Millisecond))
	return string(out)
}
