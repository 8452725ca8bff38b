package examples

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// TestDemo runs `make demo`'s script with short database TTLs, as a
// newcomer would, and follows its narration: the Vault-made database user
// is shown, a renewal and a rotation (a second user) are told, the
// printed "what to try" commands work (a vault kv put with the printed
// env shows up as a change), and no password rendered during the run,
// nor any other secret, is ever printed.
func TestDemo(t *testing.T) {
	vault := vaulttest.VaultBin(t)
	env := append(os.Environ(), "PATH="+filepath.Dir(vault)+":"+os.Getenv("PATH"),
		pgtest.EnvBinDir+"="+pgtest.BinDir(t), "ROTOR_DEMO_DB_TTL=6s", "ROTOR_DEMO_DB_MAX_TTL=20s")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("demo", "run.sh"))
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // bash's trap cleans up
	cmd.WaitDelay = 20 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &narration{}
	go n.read(pr)

	// Everything db.env ever holds, sampled while the demo runs.
	out := n.waitFor(t, regexp.MustCompile(`==> files: (\S+)/\n`), 60*time.Second)[1]
	passwords := &seen{m: map[string]bool{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(filepath.Join(out, "db.env")); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if p, ok := strings.CutPrefix(line, "PGPASSWORD="); ok && p != "" {
						passwords.add(p)
					}
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	user := regexp.MustCompile(`wrote +\S+/db\.env: PostgreSQL user (v-\S+) \(password not shown\), lease expires in \d+s`)
	n.waitFor(t, user, 60*time.Second)
	n.waitFor(t, regexp.MustCompile(`renewed +database/creds/myapp-readonly: lease extended, expires in \d+s`), 30*time.Second)
	n.waitFor(t, regexp.MustCompile(`rotated +database/creds/myapp-readonly: new credentials from Vault, expire in \d+s`), 60*time.Second)
	n.waitFor(t, regexp.MustCompile(`rotated +database/creds/.*\n.*wrote +\S+/db\.env: PostgreSQL user v-`), 10*time.Second)
	n.waitFor(t, regexp.MustCompile(`reload +ran dbcheck\.sh db\.env psql \(exit 0`), time.Second)

	// The printed env works: change the KV secret as told, see it told.
	exports := n.waitFor(t, regexp.MustCompile(`export VAULT_ADDR=(\S+) VAULT_TOKEN=(\S+)\n`), time.Second)
	kv := exec.Command(vault, "kv", "put", "secret/demo/app", "username=demo", "password=rotated-by-the-test")
	kv.Env = append(os.Environ(), "VAULT_ADDR="+exports[1], "VAULT_TOKEN="+exports[2])
	if b, err := kv.CombinedOutput(); err != nil {
		t.Fatalf("vault kv put with the printed env: %v\n%s", err, b)
	}

	n.waitFor(t, regexp.MustCompile(`changed +secret/demo/app: the value in Vault changed\n.*wrote +\S+/app\.env`), 30*time.Second)

	close(stop)
	wg.Wait()
	cancel() // Ctrl-C
	cmd.Wait()
	pw.Close()
	text := n.String()
	if !regexp.MustCompile(`stopped +rotor exited\n`).MatchString(text) || !strings.Contains(text, "==> stopped rotor, Vault and PostgreSQL; their files are removed") {
		t.Errorf("the demo did not stop cleanly on Ctrl-C:\n%s", text)
	}
	users := map[string]bool{}
	for _, m := range user.FindAllStringSubmatch(text, -1) {
		users[m[1]] = true
	}
	if len(users) < 2 {
		t.Errorf("a rotation must show a new user; users shown: %v", users)
	}
	if passwords.len() < 2 {
		t.Errorf("sampled %d database passwords; a rotation makes two", passwords.len())
	}
	secrets := passwords.all()
	for _, s := range []string{"change-me", "rotated-by-the-test", "PRIVATE KEY"} {
		secrets[s] = true
	}
	for s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("the demo printed a secret (%d characters)", len(s))
		}
	}
	if t.Failed() {
		for s := range secrets {
			text = strings.ReplaceAll(text, s, "[redacted by the test]")
		}
		t.Logf("demo output:\n%s", text)
	}
}

// narration collects the demo's output as it comes.
type narration struct {
	mu sync.Mutex
	b  strings.Builder
}

func (n *narration) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		n.mu.Lock()
		n.b.WriteString(sc.Text() + "\n")
		n.mu.Unlock()
	}
}

func (n *narration) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.String()
}

// waitFor polls the output until re matches, and returns the match.
func (n *narration) waitFor(t *testing.T, re *regexp.Regexp, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if m := re.FindStringSubmatch(n.String()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not print %s within %v:\n%s", re, within, n.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seen is a set of secret values, filled by one goroutine.
type seen struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *seen) add(v string) { s.mu.Lock(); s.m[v] = true; s.mu.Unlock() }
func (s *seen) len() int     { s.mu.Lock(); defer s.mu.Unlock(); return len(s.m) }
func (s *seen) all() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.m))
	for k := range s.m {
		out[k] = true
	}
	return out
}
