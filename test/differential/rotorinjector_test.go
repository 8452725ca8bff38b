package differential

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/injector"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// vk8sBase is the agent configuration vault-k8s writes for its init
// container (agent-inject/agent/config.go, newConfig(init=true)) with the
// defaults of agent.Init and agent.New: kubernetes auth at
// auth/kubernetes with the role and the service account's token path
// (annotations.go authConfig), the token sink and pid file under
// /home/vault, exit_after_auth, template_config.exit_on_retry_failure =
// true (DefaultTemplateConfigExitOnRetryFailure). %s is the template list.
//
// vault-k8s's own code could not be run here: its module is not served by
// the Go module proxy this project builds from. These configurations are
// written from its source, one case per behaviour, and run by Vault Agent.
const vk8sBase = `{"auto_auth":{"method":{"type":"kubernetes","mount_path":%q,"config":{"role":"app","token_path":"/var/run/secrets/kubernetes.io/serviceaccount/token"}},
"sink":[{"type":"file","config":{"path":"/home/vault/.vault-token"}}%s]},
"exit_after_auth":true,"pid_file":"/home/vault/.pid","vault":{"address":"https://vault.vault.svc:8200"},
"template":[%s],"template_config":{"exit_on_retry_failure":true}}`

// rotorInjectorCases: annotations, and the template blocks vault-k8s
// derives from them (newTemplateConfigs), each citing what it follows.
var rotorInjectorCases = []struct {
	name      string
	ann       map[string]string
	mount     string // auth mount (auth-path)
	extraSink string // vault-k8s's agent-inject-token sink
	templates string
}{
	{
		// DefaultMapTemplate, destination secret-volume-path/<name>.
		name:      "default map template, KV v2",
		ann:       map[string]string{"vault.hashicorp.com/agent-inject-secret-config": "secret/data/app/config"},
		templates: `{"destination":"/vault/secrets/config","contents":"{{ with secret \"secret/data/app/config\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}","left_delimiter":"{{","right_delimiter":"}}"}`,
	},
	{
		// DefaultJSONTemplate (agent-inject-default-template: json), KV v1.
		name: "default json template, KV v1",
		ann: map[string]string{"vault.hashicorp.com/agent-inject-secret-db": "kv1/app/db",
			"vault.hashicorp.com/agent-inject-default-template": "json"},
		templates: `{"destination":"/vault/secrets/db","contents":"{{ with secret \"kv1/app/db\" }}{{ .Data | toJSON }}\n{{ end }}","left_delimiter":"{{","right_delimiter":"}}"}`,
	},
	{
		// agent-inject-template-, -file- (filepath.Join with the mount
		// path) and -perms- (Template.Perms).
		name: "template, file and perms",
		ann: map[string]string{"vault.hashicorp.com/agent-inject-secret-cfg": "secret/data/app/config",
			"vault.hashicorp.com/agent-inject-template-cfg": `{{ with secret "secret/data/app/config" }}API_KEY={{ .Data.data.api_key }}{{ end }}`,
			"vault.hashicorp.com/agent-inject-file-cfg":     "conf/app.env",
			"vault.hashicorp.com/agent-inject-perms-cfg":    "0640"},
		templates: `{"destination":"/vault/secrets/conf/app.env","contents":"{{ with secret \"secret/data/app/config\" }}API_KEY={{ .Data.data.api_key }}{{ end }}","left_delimiter":"{{","right_delimiter":"}}","perms":"0640"}`,
	},
	{
		// agent-inject-template-file- (Template.Source, no contents).
		name:      "template file",
		ann:       map[string]string{"vault.hashicorp.com/agent-inject-template-file-feature": "/vault/configs/feature.tpl"},
		templates: `{"destination":"/vault/secrets/feature","source":"/vault/configs/feature.tpl","left_delimiter":"{{","right_delimiter":"}}"}`,
	},
	{
		// preserve-secret-case (secretName) and secret-volume-path-<name>
		// (Secret.MountPath).
		name: "preserved case, own mount path",
		ann: map[string]string{"vault.hashicorp.com/agent-inject-secret-Cache": "kv1/app/cache",
			"vault.hashicorp.com/preserve-secret-case":     "true",
			"vault.hashicorp.com/secret-volume-path-Cache": "/vault/other"},
		templates: `{"destination":"/vault/other/Cache","contents":"{{ with secret \"kv1/app/cache\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}","left_delimiter":"{{","right_delimiter":"}}"}`,
	},
	{
		// auth-path (Method.MountPath), agent-inject-token (a second sink
		// in the secrets volume and the TokenTemplate, config.go).
		name:      "auth path and token",
		mount:     "auth/k8s-apps",
		ann:       map[string]string{"vault.hashicorp.com/auth-path": "auth/k8s-apps", "vault.hashicorp.com/agent-inject-token": "true"},
		extraSink: `,{"type":"file","config":{"path":"/vault/secrets/token"}}`,
		templates: `{"destination":"/vault/secrets/token","contents":"{{ with secret \"auth/token/lookup-self\" }}{{ .Data.id }}\n{{ end }}","left_delimiter":"{{","right_delimiter":"}}"}`,
	},
}

// TestRotorInjectorParity runs, for each case, the configuration vault-k8s
// would write with Vault Agent, and the configurations rotor's injector
// writes (the classic init container's and the native sidecar's) with
// rotor, all logging in with the kubernetes method against a real Vault
// (TokenReview answered by vaulttest.FakeKube), and compares the files.
func TestRotorInjectorParity(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.WithTLS())
	root := srv.Client(t)
	kube := vaulttest.SetupKubernetes(t, root, "kubernetes", "app", "app", "apps", "1h")
	kube2 := vaulttest.SetupKubernetes(t, root, "k8s-apps", "app", "app", "apps", "1h")
	vaulttest.WritePolicy(t, root, "app", `
path "secret/data/app/*" { capabilities = ["read"] }
path "kv1/app/*"         { capabilities = ["read"] }
`)
	vaulttest.EnableSecrets(t, root, "kv1", "kv", map[string]any{"version": 1})
	if _, err := root.KVv2("secret").Put(t.Context(), "app/config", map[string]any{"api_key": "k-123", "feature": "on"}); err != nil {
		t.Fatal(err)
	}
	for p, d := range map[string]map[string]any{"kv1/app/db": {"host": "db.internal", "port": "5432"}, "kv1/app/cache": {"host": "cache.internal"}} {
		if _, err := root.Logical().Write(p, d); err != nil {
			t.Fatal(err)
		}
	}
	vaultBin, rotor := vaulttest.VaultBin(t), rotorBinary(t)
	for _, c := range rotorInjectorCases {
		t.Run(c.name, func(t *testing.T) {
			mount := c.mount
			if mount == "" {
				mount = "auth/kubernetes"
			}
			fk := kube
			if mount != "auth/kubernetes" {
				fk = kube2
			}
			token := fk.NewToken("apps", "app")
			vk8s := fmt.Sprintf(vk8sBase, mount, c.extraSink, c.templates)
			if !json.Valid([]byte(vk8s)) {
				t.Fatalf("the vault-k8s config is not JSON:\n%s", vk8s)
			}
			initCfg, sidecarCfg := injectorConfigs(t, c.ann)
			trees := map[string]map[string]rendered{}
			for _, r := range []struct{ who, cfg, bin string }{
				{"vault-k8s config, Vault Agent", vk8s, vaultBin},
				{"rotor injector init config, rotor", initCfg, rotor},
				{"rotor injector sidecar config, rotor -once", sidecarCfg, rotor},
			} {
				dir := t.TempDir()
				cfg := localize(t, r.cfg, dir, srv, token)
				args := []string{"agent", "-config", cfg}
				if strings.Contains(r.who, "-once") {
					args = append(args, "-once")
				}
				res := run(t, r.bin, args...)
				if res.code != 0 {
					t.Fatalf("%s exited %d:\n%s", r.who, res.code, tailLines(res.log, 30))
				}
				tree, err := readTree(filepath.Join(dir, "vault"))
				if err != nil {
					t.Fatal(err)
				}
				delete(tree, "configs/feature.tpl")
				if len(tree) == 0 {
					t.Fatalf("%s rendered nothing", r.who)
				}
				trees[r.who] = tree
			}
			want := trees["vault-k8s config, Vault Agent"]
			for who, got := range trees {
				if d := compareTrees(want, got); len(d) != 0 {
					t.Errorf("%s differs from Vault Agent on vault-k8s's config:\n  %s", who, strings.Join(d, "\n  "))
				}
			}
		})
	}
}

// injectorConfigs renders a pod with the annotations through rotor's
// injector, as classic and as native, and returns the init container's
// and the native sidecar's VAULT_CONFIG.
func injectorConfigs(t *testing.T, ann map[string]string) (string, string) {
	get := func(sidecar string) map[string]string {
		a := map[string]string{"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "app",
			"rotorproject.github.io/sidecar": sidecar}
		for k, v := range ann {
			a[k] = v
		}
		pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "app", "annotations": a},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app",
				"volumeMounts": []any{map[string]any{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}}}}}}
		b, _ := json.Marshal(pod)
		docs, err := injector.Render(b, injector.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		spec := docs[0].Object.(map[string]any)["spec"].(map[string]any)
		for _, list := range []string{"initContainers", "containers"} {
			cs, _ := spec[list].([]any)
			for _, c := range cs {
				cm := c.(map[string]any)
				env, _ := cm["env"].([]any)
				for _, e := range env {
					em := e.(map[string]any)
					if em["name"] == "VAULT_CONFIG" {
						raw, err := base64.StdEncoding.DecodeString(em["value"].(string))
						if err != nil {
							t.Fatal(err)
						}
						out[cm["name"].(string)] = string(raw)
					}
				}
			}
		}
		return out
	}
	classic, native := get("classic"), get("native")
	if classic["rotor-agent-init"] == "" || native["rotor-agent"] == "" {
		t.Fatalf("configs missing: classic %v native %v", classic, native)
	}
	return classic["rotor-agent-init"], native["rotor-agent"]
}

// localize points a pod's configuration at this machine: every absolute
// path moves under dir, the Vault address and CA are the test server's,
// the service account token is the fake API server's, and a listener gets
// a free port. The same for every configuration of a case.
func localize(t *testing.T, cfg, dir string, srv *vaulttest.Server, token string) string {
	var c map[string]any
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
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
			if strings.HasPrefix(x, "/vault/") || strings.HasPrefix(x, "/home/vault") || strings.HasPrefix(x, "/var/run/secrets/") {
				return filepath.Join(dir, x)
			}
		}
		return v
	}
	walk(c)
	v := c["vault"].(map[string]any)
	v["address"], v["ca_cert"] = srv.Addr, srv.CACert
	// vault-k8s writes the method as an object, rotor's injector as a list
	// of one (see injector's autoAuth.MarshalJSON).
	var method map[string]any
	switch m := c["auto_auth"].(map[string]any)["method"].(type) {
	case map[string]any:
		method = m
	case []any:
		method = m[0].(map[string]any)
	}
	writeFile(t, method["config"].(map[string]any)["token_path"].(string), token)
	if ls, ok := c["listener"].([]any); ok {
		for _, l := range ls {
			l.(map[string]any)["address"] = freeAddr(t)
		}
	}
	// The template file of the template-file case, in place.
	writeFile(t, filepath.Join(dir, "vault/configs/feature.tpl"), `{{ with secret "secret/data/app/config" }}feature={{ .Data.data.feature }}{{ end }}`+"\n")
	// The pod's volumes exist before any container starts.
	for _, d := range []string{"home/vault", "vault/secrets", "vault/other"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	p := filepath.Join(dir, "config.json")
	writeFile(t, p, string(b))
	return p
}
