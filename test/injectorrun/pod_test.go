// Package injectorrun runs what `rotor injector render` makes of a pod: the
// rotor containers' commands and environment, as rendered, started as local
// processes against a real Vault, with the pod's volumes as directories
// (like examples/kubernetes/run.sh does for the sidecar manifests) and
// kubernetes auth against vaulttest.FakeKube. One host stands in for the
// pod: the processes share a PID namespace as containers with
// shareProcessNamespace do.
package injectorrun

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

func TestMain(m *testing.M) { proc.Main(m) }

// pod is a rendered pod laid out on this machine.
type pod struct {
	t     *testing.T
	dir   string // the pod's root: /vault/secrets is dir/vault/secrets, ...
	rotor string // the rotor binary (the image's /usr/local/bin/rotor)
	vault *vaulttest.Server
	obj   map[string]any
	env   []string // added to every container's environment (the kubelet's)
	logs  map[string]*vaulttest.Buffer
}

// render runs `rotor injector render` on a pod manifest and lays the pod
// out under a new directory.
func render(t *testing.T, srv *vaulttest.Server, manifest map[string]any) *pod {
	t.Helper()
	p := &pod{t: t, dir: t.TempDir(), rotor: proc.Rotor(t), vault: srv, logs: map[string]*vaulttest.Buffer{}}
	in := filepath.Join(p.dir, "pod.json")
	b, _ := json.Marshal(manifest)
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(p.rotor, "injector", "render", "-f", in, "-o", "json", "-rotor-path", p.rotor,
		"-vault-address", srv.Addr).Output()
	if err != nil {
		t.Fatalf("rotor injector render: %v", err)
	}
	if err := json.Unmarshal(out, &p.obj); err != nil {
		t.Fatal(err)
	}
	if m := p.obj["spec"].(map[string]any); m["template"] != nil { // a workload: its pod template
		p.obj = m["template"].(map[string]any)
	}
	// The pod's emptyDir volumes exist before any container starts.
	for _, d := range []string{"vault/secrets", "home/vault", "rotor", "rotor-exec"} {
		os.MkdirAll(p.path("/"+d), 0o777)
	}
	return p
}

// path maps a path in the pod to this machine.
func (p *pod) path(s string) string {
	for _, pre := range []string{"/vault/", "/home/vault", "/rotor", "/var/run/secrets/"} {
		if strings.HasPrefix(s, pre) {
			return filepath.Join(p.dir, s)
		}
	}
	return s
}

// container returns the container (or init container) named name.
func (p *pod) container(name string) map[string]any {
	spec := p.obj["spec"].(map[string]any)
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			if c.(map[string]any)["name"] == name {
				return c.(map[string]any)
			}
		}
	}
	p.t.Fatalf("no container %q", name)
	return nil
}

// command is the container's command and args, paths mapped.
func (p *pod) command(c map[string]any) []string {
	var argv []string
	for _, k := range []string{"command", "args"} {
		l, _ := c[k].([]any)
		for _, a := range l {
			argv = append(argv, p.path(a.(string)))
		}
	}
	return argv
}

// environ is the container's environment: values mapped, each base64
// agent configuration localized, fieldRefs resolved from fields.
func (p *pod) environ(c map[string]any, fields map[string]string) []string {
	env := proc.CleanEnv(p.env...)
	l, _ := c["env"].([]any)
	for _, e := range l {
		em := e.(map[string]any)
		name := em["name"].(string)
		if vf, ok := em["valueFrom"].(map[string]any); ok {
			env = append(env, name+"="+fields[vf["fieldRef"].(map[string]any)["fieldPath"].(string)])
			continue
		}
		v := em["value"].(string)
		switch name {
		case "VAULT_CONFIG", "ROTOR_EXEC_CONFIG":
			v = p.localize(v)
		default:
			v = p.path(v)
		}
		env = append(env, name+"="+v)
	}
	return env
}

// localize points a base64 JSON agent configuration at this machine:
// paths mapped, Vault's CA added, listeners on free ports.
func (p *pod) localize(b64 string) string {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		p.t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		p.t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			return p.path(x)
		}
		return v
	}
	walk(c)
	c["vault"].(map[string]any)["ca_cert"] = p.vault.CACert
	if ls, ok := c["listener"].([]any); ok {
		for _, l := range ls {
			l.(map[string]any)["address"] = freeAddr(p.t)
		}
	}
	out, _ := json.Marshal(c)
	return base64.StdEncoding.EncodeToString(out)
}

// start runs a container's command as a process, stopped when the test
// ends; its output goes to p.logs[name].
func (p *pod) start(name string, fields map[string]string) *proc.Process {
	c := p.container(name)
	argv := p.command(c)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = p.environ(c, fields)
	buf := &vaulttest.Buffer{}
	p.logs[name] = buf
	cmd.Stdout, cmd.Stderr = buf, buf
	pr := proc.StartT(p.t, cmd)
	p.t.Cleanup(func() {
		pr.Stop(os.Interrupt, 10*time.Second)
		if leaks := vaulttest.Leaks(buf.String()); len(leaks) > 0 {
			p.t.Errorf("%s's output holds %d secret(s)", name, len(leaks))
		}
		if p.t.Failed() {
			p.t.Logf("%s (%v, exit %v) output:\n%s", name, argv, pr.Err(), tail(buf.String(), 40))
		}
	})
	return pr
}

// run runs a container's command to its end (an init container).
func (p *pod) run(name string) {
	p.t.Helper()
	c := p.container(name)
	argv := p.command(c)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = p.environ(c, nil)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls ok until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// vaultLab is a Vault with kubernetes auth (role app for
// apps/app) and a KV secret, and a service account token for the pod.
type vaultLab struct {
	srv   *vaulttest.Server
	kube  *vaulttest.FakeKube
	token string
}

func newVaultLab(t *testing.T) *vaultLab {
	srv := vaulttest.Start(t, vaulttest.WithTLS())
	root := srv.Client(t)
	kube := vaulttest.SetupKubernetes(t, root, "kubernetes", "app", "app", "apps", "1h")
	vaulttest.WritePolicy(t, root, "app", `path "secret/data/app/*" { capabilities = ["read"] }`)
	l := &vaultLab{srv: srv, kube: kube, token: kube.NewToken("apps", "app")}
	l.put(t, "k-1")
	return l
}

// put writes the KV secret the pods read.
func (l *vaultLab) put(t *testing.T, apiKey string) {
	t.Helper()
	if _, err := l.srv.Client(t).KVv2("secret").Put(t.Context(), "app/config", map[string]any{"api_key": apiKey}); err != nil {
		t.Fatal(err)
	}
}

// serviceAccount writes the pod's service account mount with the token.
func (p *pod) serviceAccount(token string) {
	dir := p.path("/var/run/secrets/kubernetes.io/serviceaccount")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// appScript is the app: it records its pid and API_KEY when it starts and
// when it gets SIGHUP (SIGUSR1: a test's barrier), in the file named by its first argument.
const appScript = `#!/bin/sh
trap 'echo "hup $$ key=$API_KEY" >> "$1"' HUP
trap 'echo "usr1 $$" >> "$1"' USR1
trap 'kill $pid 2>/dev/null; exit 0' TERM INT
echo "start $$ key=$API_KEY" >> "$1"
while :; do sleep 300 & pid=$!; wait $pid; done
`

// podManifest is a Deployment-less pod with one app container running
// the app script named name, and the annotations.
func podManifest(app, out string, ann map[string]string) map[string]any {
	a := map[string]string{"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "app",
		"vault.hashicorp.com/agent-inject-secret-config":             "secret/data/app/config",
		"vault.hashicorp.com/template-static-secret-render-interval": "1s"}
	for k, v := range ann {
		a[k] = v
	}
	uid := int64(1000)
	return map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web", "namespace": "apps", "annotations": a},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app",
			"command": []string{app}, "args": []string{out},
			"securityContext": map[string]any{"runAsUser": uid},
			"volumeMounts":    []any{map[string]any{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}}}}}}
}

// writeApp writes the app script as dir/name.
func writeApp(t *testing.T, dir, name string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(appScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
