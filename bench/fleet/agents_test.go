package fleet

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// kind is one agent implementation: rotor or Vault Agent.
type kind struct {
	name   string // as printed: "rotor", "Vault Agent"
	prefix string // of agent names, "r" or "v": the audit log tells the fleets apart by it
	bin    string
	// api gives each agent rotor's local API on a unix socket, to ask
	// /readyz; Vault Agent has no readiness endpoint.
	api bool
}

// agent is one agent process of a fleet.
type agent struct {
	name  string // e.g. "r017", also the token metadata in the audit log
	dir   string
	sock  string // rotor's API socket; "" for Vault Agent
	cmd   *exec.Cmd
	p     *proc.Process // once started
	spawn time.Time     // when it was started
}

// prepare writes an agent's credentials and configuration; it starts
// nothing. sockDir is a short directory for the API socket (a unix socket
// path must stay under ~100 bytes).
func prepare(t *testing.T, e *vaultEnv, k kind, i int, sockDir string) *agent {
	t.Helper()
	a := &agent{name: fmt.Sprintf("%s%03d", k.prefix, i)}
	a.dir = filepath.Join(t.TempDir(), a.name)
	if err := os.MkdirAll(filepath.Join(a.dir, "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(a.dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("role_id", e.roleID)
	write("secret_id", e.secretID(t, a.name))
	var b strings.Builder
	// Defaults everywhere else (retries, backoff, renewal threshold), as
	// most deployments run them.
	fmt.Fprintf(&b, `vault { address = %q }
auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = %q
      secret_id_file_path = %q
      remove_secret_id_file_after_reading = false
    }
  }
}
template_config { static_secret_render_interval = %q }
`, e.srv.Addr, filepath.Join(a.dir, "role_id"), filepath.Join(a.dir, "secret_id"), kvInterval)
	if k.api {
		a.sock = filepath.Join(sockDir, a.name+".sock")
		fmt.Fprintf(&b, "listener \"unix\" { address = %q }\n", a.sock)
	}
	for _, tp := range templates {
		fmt.Fprintf(&b, "template {\n  contents    = %q\n  destination = %q\n}\n", tp.contents, a.file(tp.file))
	}
	write("agent.hcl", b.String())
	a.cmd = exec.Command(k.bin, "agent", "-config", filepath.Join(a.dir, "agent.hcl"), "-log-level", "info")
	a.cmd.Env = proc.CleanEnv()
	return a
}

func (a *agent) file(name string) string { return filepath.Join(a.dir, "out", name) }

// start runs the agent with its output in agent.log.
func (a *agent) start() error {
	logf, err := os.Create(filepath.Join(a.dir, "agent.log"))
	if err != nil {
		return err
	}
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	a.spawn = time.Now()
	a.p, err = proc.Start(a.cmd)
	logf.Close() // the child has its own descriptor
	return err
}

func (a *agent) alive() bool { return a.p != nil && !a.p.Exited() }

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (a *agent) stop(grace time.Duration) {
	if a.alive() {
		a.p.Stop(syscall.SIGTERM, grace)
	}
}

// rendered reports whether every template's file has been written.
func (a *agent) rendered() bool {
	for _, tp := range templates {
		if st, err := os.Stat(a.file(tp.file)); err != nil || st.Size() == 0 {
			return false
		}
	}
	return true
}

// leaseID is the database lease in the agent's rendered file ("" when
// none yet).
func (a *agent) leaseID() string {
	b, _ := os.ReadFile(a.file("db.env"))
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "lease_id="); ok {
			return v
		}
	}
	return ""
}

// certNotAfter is the end of the certificate in the agent's file (zero
// when it has none).
func (a *agent) certNotAfter() time.Time {
	b, _ := os.ReadFile(a.file("cert.pem"))
	blk, _ := pem.Decode(b)
	if blk == nil {
		return time.Time{}
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return time.Time{}
	}
	return c.NotAfter
}

// ready asks rotor's /readyz (true for an agent without an API).
func (a *agent) ready() bool {
	if a.sock == "" {
		return true
	}
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", a.sock)
		},
	}}
	defer c.CloseIdleConnections()
	res, err := c.Get("http://rotor/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// vaultConns counts, for each pid, its established TCP connections to
// port on the loopback: the sockets in /proc/net/tcp{,6} whose remote
// end is that port, matched to the pid's descriptors by inode.
func vaultConns(pids []int, port int) map[int]int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "01" { // 01: ESTABLISHED
				continue
			}
			i := strings.LastIndexByte(fs[2], ':')
			if p, err := strconv.ParseUint(fs[2][i+1:], 16, 16); err == nil && int(p) == port {
				inodes[fs[9]] = true
			}
		}
		fh.Close()
	}
	out := map[int]int{}
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, _ := os.ReadDir(dir)
		for _, ent := range ents {
			l, err := os.Readlink(filepath.Join(dir, ent.Name()))
			if err != nil {
				continue
			}
			if ino, ok := strings.CutPrefix(l, "socket:["); ok && inodes[strings.TrimSuffix(ino, "]")] {
				out[pid]++
			}
		}
	}
	return out
}

// rssKB is a process's resident memory (0 when it is gone).
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

// memAvailableMB reads MemAvailable from /proc/meminfo.
func memAvailableMB() int {
	b, _ := os.ReadFile("/proc/meminfo")
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb / 1024
		}
	}
	return 0
}
