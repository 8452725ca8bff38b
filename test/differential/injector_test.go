package differential

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/pgtest"
	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// checkInjector runs the JSON the vault-k8s injector writes
// (agent/config/testdata/k8s-injector.json) with Vault Agent and with
// rotor, as long-running agents (the file says exit_after_auth = false),
// until both have rendered, then compares their files. The file is used
// as it is; the test only changes values that name this machine's places:
// the Vault address, CA and server name, the service account token path,
// the sink, pid file and template destinations, the listener's port, and
// the reload command ("kill -HUP 1" would signal this machine's init).
func (l *lab) checkInjector(t *testing.T) string {
	root := l.root
	kube := vaulttest.SetupKubernetes(t, root, "kubernetes", "orders-api", "orders", "orders", "1h")
	vaulttest.WritePolicy(t, root, "orders-api", `
path "database/creds/orders"     { capabilities = ["read"] }
path "secret/data/orders/config" { capabilities = ["read"] }
`)
	if _, err := root.Logical().Write("database/roles/orders", map[string]any{
		"db_name": pgtest.ConnectionName, "creation_statements": pgtest.CreationStatements,
		"revocation_statements": pgtest.RevocationStatements, "default_ttl": "1h", "max_ttl": "24h",
	}); err != nil {
		t.Fatal(err)
	}
	modRoot, err := proc.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(modRoot, "agent/config/testdata/k8s-injector.json"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	token := filepath.Join(work, "sa-token")
	writeFile(t, token, kube.NewToken("orders", "orders"))
	outs := map[string]string{}
	for _, agent := range []string{"vault agent", "rotor"} {
		dir := filepath.Join(work, strings.ReplaceAll(agent, " ", "-"))
		out := filepath.Join(dir, "out")
		cfg := filepath.Join(dir, "k8s-injector.json")
		writeFile(t, cfg, adaptInjector(t, orig, l, token, dir, out))
		outs[agent] = out
		bin, args := l.vault, []string{"agent", "-config", cfg}
		if agent == "rotor" {
			bin = l.rotor
		}
		p := startAgent(t, bin, args...)
		want := []string{filepath.Join(out, "db-creds"), filepath.Join(out, "config.json"),
			filepath.Join(dir, "reloaded"), filepath.Join(dir, ".vault-token")}
		vaulttest.Eventually(t, 30*time.Second, func() error {
			for _, f := range want {
				if st, err := os.Stat(f); err != nil || st.Size() == 0 && !strings.HasSuffix(f, "reloaded") {
					return fmt.Errorf("%s has not written %s", agent, filepath.Base(f))
				}
			}
			if p.exited() {
				return fmt.Errorf("%s exited:\n%s", agent, tailLines(p.out.String(), 20))
			}
			return nil
		})
		if code := p.stop(t); code != 0 && agent == "rotor" {
			t.Errorf("rotor exited %d after SIGTERM:\n%s", code, tailLines(p.out.String(), 20))
		}
		creds := strings.SplitN(rawTree(t, out)["db-creds"], ":", 2)
		if len(creds) != 2 || l.pg.CanLogin(creds[0], creds[1]) != nil {
			t.Errorf("%s's db-creds do not log in to PostgreSQL", agent)
		}
	}
	want, err := readTree(outs["vault agent"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := readTree(outs["rotor"])
	if err != nil {
		t.Fatal(err)
	}
	if d := compareTrees(want, got); len(d) != 0 {
		t.Errorf("rotor's files differ from Vault Agent's:\n  %s", strings.Join(d, "\n  "))
		return "**differs**"
	}
	return fmt.Sprintf("runs unchanged; same bytes (%d files)", len(want))
}

// adaptInjector sets the values of the injector's JSON that name places
// on this machine, leaving its structure and every other value alone.
func adaptInjector(t *testing.T, orig []byte, l *lab, token, dir, out string) string {
	var c map[string]any
	if err := json.Unmarshal(orig, &c); err != nil {
		t.Fatal(err)
	}
	obj := func(m any, key string) map[string]any { return m.(map[string]any)[key].(map[string]any) }
	aa := obj(c, "auto_auth")
	obj(aa, "method")["config"].(map[string]any)["token_path"] = token
	aa["sink"].([]any)[0].(map[string]any)["config"].(map[string]any)["path"] = filepath.Join(dir, ".vault-token")
	c["pid_file"] = filepath.Join(dir, ".pid")
	v := obj(c, "vault")
	v["address"], v["ca_cert"], v["tls_server_name"] = l.srv.Addr, l.srv.CACert, "localhost"
	tpls := c["template"].([]any)
	db, cfg := tpls[0].(map[string]any), tpls[1].(map[string]any)
	db["destination"] = filepath.Join(out, "db-creds")
	db["command"] = "touch " + filepath.Join(dir, "reloaded")
	cfg["destination"] = filepath.Join(out, "config.json")
	c["listener"].([]any)[0].(map[string]any)["address"] = freeAddr(t)
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// agentProc is a long-running agent.
type agentProc struct {
	*proc.Process
	out *vaulttest.Buffer
}

// startAgent starts bin with args, with nothing from the test's environment
// pointing it elsewhere; the process group is killed when the test ends if
// it is still running.
func startAgent(t *testing.T, bin string, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = proc.CleanEnv()
	p := &agentProc{out: &vaulttest.Buffer{}}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	p.Process = proc.StartT(t, cmd)
	return p
}

func (p *agentProc) exited() bool { return p.Exited() }

// stop sends SIGTERM and returns the exit code (-1 if it had to be
// killed after runTimeout).
func (p *agentProc) stop(t *testing.T) int {
	if !p.Stop(syscall.SIGTERM, runTimeout) {
		t.Errorf("%s did not stop within %v of SIGTERM", filepath.Base(p.Cmd().Path), runTimeout)
		return -1
	}
	return p.ExitCode()
}
