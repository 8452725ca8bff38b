package injector

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// rendered is the part of a mutated pod these tests read.
type rendered struct {
	Spec struct {
		InitContainers, Containers []renderedContainer
		Volumes                    []struct {
			Name   string
			Secret *struct{ SecretName string }
		}
	}
	warnings []string
}

type renderedContainer struct {
	Name, RestartPolicy string
	Command             []string
	Env                 []struct{ Name, Value string }
	VolumeMounts        []struct {
		Name, MountPath, SubPath string
		ReadOnly                 bool
	}
	Resources struct{ Limits, Requests map[string]string }
	Lifecycle map[string]any
}

// extrasPod is a pod with an app container (its service account mount,
// a config mount with a subPath, a mount at rotor's /home/vault) and an
// init container, carrying base annotations plus extra ones ("key: value"
// YAML lines).
func extrasPod(extra ...string) string {
	ann := []string{`vault.hashicorp.com/agent-inject: "true"`, `vault.hashicorp.com/role: app`,
		`vault.hashicorp.com/agent-inject-secret-db: database/creds/app`}
	return `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    ` + strings.Join(append(ann, extra...), "\n    ") + `
spec:
  initContainers:
    - name: setup
      image: setup
      volumeMounts:
        - {name: ca, mountPath: /etc/ca}
  containers:
    - name: app
      image: app
      command: [/app]
      volumeMounts:
        - {name: kube-api-access-1, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
        - {name: conf, mountPath: /etc/app/app.conf, subPath: app.conf, readOnly: true}
        - {name: scratch, mountPath: /home/vault}
        - {name: aud-token, mountPath: /var/run/secrets/tokens, readOnly: true}
  volumes:
    - name: kube-api-access-1
      projected: {sources: [{serviceAccountToken: {path: token}}]}
    - name: aud-token
      projected: {sources: [{configMap: {name: x}}, {serviceAccountToken: {path: vault-jwt, audience: vault}}]}
    - name: unmounted-token
      projected: {sources: [{serviceAccountToken: {path: jwt, audience: vault}}]}
    - name: plain
      emptyDir: {}
    - {name: conf, configMap: {name: conf}}
    - {name: scratch, emptyDir: {}}
    - {name: ca, configMap: {name: ca}}
`
}

func renderExtras(t *testing.T, in string) (*rendered, error) {
	t.Helper()
	docs, err := Render([]byte(in), DefaultOptions())
	if err != nil {
		return nil, err
	}
	var r rendered
	b, _ := json.Marshal(docs[0].Object)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, w := range docs[0].Warnings {
		r.warnings = append(r.warnings, w.String())
	}
	return &r, nil
}

func (r *rendered) container(t *testing.T, name string) renderedContainer {
	t.Helper()
	for _, c := range append(r.Spec.InitContainers, r.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return renderedContainer{}
}

func (c renderedContainer) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

func (c renderedContainer) mounts() string {
	var out []string
	for _, m := range c.VolumeMounts {
		s := m.Name + ":" + m.MountPath
		if m.SubPath != "" {
			s += "[" + m.SubPath + "]"
		}
		if m.ReadOnly {
			s += ":ro"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// tokenPath is the kubernetes method's token_path in the container's
// VAULT_CONFIG.
func (c renderedContainer) tokenPath(t *testing.T) string {
	t.Helper()
	v, _ := c.env("VAULT_CONFIG")
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		AutoAuth struct {
			Method []struct{ Config map[string]string }
		} `json:"auto_auth"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.AutoAuth.Method[0].Config["token_path"]
}

const classic = `rotorproject.github.io/sidecar: classic`

// TestProxyAddress: HTTPS_PROXY in every rotor container, as vault-k8s
// sets it in its init and sidecar containers, and nowhere else.
func TestProxyAddress(t *testing.T) {
	r, err := renderExtras(t, extrasPod(classic, `vault.hashicorp.com/proxy-address: "http://proxy.corp:3128"`,
		`rotorproject.github.io/env-TOKEN: "{{ with secret \"kv/x\" }}{{ .Data.v }}{{ end }}"`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{initName, sidecarName} {
		if v, ok := r.container(t, name).env("HTTPS_PROXY"); v != "http://proxy.corp:3128" {
			t.Errorf("%s: HTTPS_PROXY = %q (set %v)", name, v, ok)
		}
	}
	for _, name := range []string{copyName, "app", "setup"} {
		if _, ok := r.container(t, name).env("HTTPS_PROXY"); ok {
			t.Errorf("%s has HTTPS_PROXY", name)
		}
	}
	r, _ = renderExtras(t, extrasPod())
	if _, ok := r.container(t, sidecarName).env("HTTPS_PROXY"); ok {
		t.Error("HTTPS_PROXY set without the annotation")
	}
	for _, bad := range []string{"ftp://proxy:21", "http://:3128", "gopher://user:pa55word@proxy:80"} {
		_, err := renderExtras(t, extrasPod(`vault.hashicorp.com/proxy-address: "`+bad+`"`))
		if err == nil || !strings.Contains(err.Error(), annProxyAddress+": not a proxy URL") {
			t.Errorf("%q: err = %v", bad, err)
		} else if strings.Contains(err.Error(), "pa55word") {
			t.Errorf("the error repeats the proxy's password: %v", err)
		}
	}
}

// TestExtraSecret: the Secret as volume extra-secrets, read-only at
// /vault/custom in each rotor container (vault-k8s's names).
func TestExtraSecret(t *testing.T) {
	for _, shape := range []string{"native", "classic"} {
		r, err := renderExtras(t, extrasPod(`rotorproject.github.io/sidecar: `+shape, `vault.hashicorp.com/agent-extra-secret: client-cert`))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, v := range r.Spec.Volumes {
			if v.Name == extraSecretVolume {
				found = v.Secret != nil && v.Secret.SecretName == "client-cert"
			}
		}
		if !found {
			t.Errorf("%s: no volume extra-secrets from Secret client-cert: %+v", shape, r.Spec.Volumes)
		}
		names := []string{sidecarName}
		if shape == "classic" {
			names = append(names, initName)
		}
		for _, n := range names {
			if m := r.container(t, n).mounts(); !strings.Contains(m, "extra-secrets:/vault/custom:ro") {
				t.Errorf("%s %s mounts: %s", shape, n, m)
			}
		}
		if m := r.container(t, "app").mounts(); strings.Contains(m, "extra-secrets") {
			t.Errorf("the app mounts the extra secret: %s", m)
		}
	}
	if _, err := renderExtras(t, extrasPod(`vault.hashicorp.com/agent-extra-secret: Not_A_Name`)); err == nil ||
		!strings.Contains(err.Error(), annExtraSecret+`: "Not_A_Name" is not a Secret name`) {
		t.Errorf("err = %v", err)
	}
}

// TestCopyVolumeMounts: the named container's mounts in the rotor
// containers, all their fields kept, but for its service account mount
// and those whose volume or path rotor mounts already (warned).
func TestCopyVolumeMounts(t *testing.T) {
	r, err := renderExtras(t, extrasPod(classic, `vault.hashicorp.com/agent-copy-volume-mounts: app`))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{initName, sidecarName} {
		m := r.container(t, n).mounts()
		if !strings.Contains(m, "conf:/etc/app/app.conf[app.conf]:ro") || !strings.Contains(m, "aud-token:/var/run/secrets/tokens:ro") {
			t.Errorf("%s: the app's mounts are not copied: %s", n, m)
		}
		if strings.Contains(m, "scratch") || strings.Count(m, "/var/run/secrets/kubernetes.io/serviceaccount") != 1 {
			t.Errorf("%s: a clashing mount was copied: %s", n, m)
		}
	}
	if w := strings.Join(r.warnings, "\n"); !strings.Contains(w, `mount of volume "scratch" at /home/vault not copied`) ||
		strings.Count(w, "scratch") != 1 {
		t.Errorf("warnings:\n%s", w)
	}
	// The app's service account mount is never copied, even when rotor
	// logs in with another token (and so does not mount that one).
	r, _ = renderExtras(t, extrasPod(`vault.hashicorp.com/agent-copy-volume-mounts: app`,
		`vault.hashicorp.com/agent-service-account-token-volume-name: unmounted-token`))
	if m := r.container(t, sidecarName).mounts(); strings.Contains(m, "kube-api-access") || !strings.Contains(m, "aud-token") {
		t.Errorf("mounts: %s", m)
	}
	// From an init container; a name that is no container is a warning.
	r, _ = renderExtras(t, extrasPod(`vault.hashicorp.com/agent-copy-volume-mounts: setup`))
	if m := r.container(t, sidecarName).mounts(); !strings.HasSuffix(m, "ca:/etc/ca") {
		t.Errorf("mounts of the init container not copied: %s", m)
	}
	r, err = renderExtras(t, extrasPod(`vault.hashicorp.com/agent-copy-volume-mounts: nope`))
	if err != nil || !strings.Contains(strings.Join(r.warnings, "\n"), `no container or init container "nope"`) {
		t.Errorf("err %v, warnings %q", err, r.warnings)
	}
}

// TestServiceAccountTokenVolume: the named projected volume is the
// kubernetes method's token: mounted where the app mounts it (else at
// vault-k8s's default path), token_path the projection's file.
func TestServiceAccountTokenVolume(t *testing.T) {
	tests := []struct {
		volume, extra, mount, tokenPath, err string
	}{
		{"aud-token", "", "aud-token:/var/run/secrets/tokens:ro", "/var/run/secrets/tokens/vault-jwt", ""},
		{"unmounted-token", "", "unmounted-token:/var/run/secrets/vault.hashicorp.com/serviceaccount:ro",
			"/var/run/secrets/vault.hashicorp.com/serviceaccount/jwt", ""},
		{"aud-token", `vault.hashicorp.com/auth-config-token-path: /elsewhere`, "aud-token:/var/run/secrets/tokens:ro", "/elsewhere", ""},
		{"missing", "", "", "", `the pod has no volume "missing"`},
		{"plain", "", "", "", `volume "plain" is not a projected volume with a serviceAccountToken source`},
		{"aud-token", `rotorproject.github.io/restart-on-change: "true"`, "", "", "choose one"},
	}
	for _, tt := range tests {
		t.Run(tt.volume+tt.extra, func(t *testing.T) {
			ann := []string{classic, `vault.hashicorp.com/agent-service-account-token-volume-name: ` + tt.volume}
			if tt.extra != "" {
				ann = append(ann, tt.extra)
			}
			r, err := renderExtras(t, extrasPod(ann...))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []string{initName, sidecarName} {
				c := r.container(t, n)
				if m := c.mounts(); !strings.HasPrefix(m, tt.mount+" ") || strings.Contains(m, "kubernetes.io/serviceaccount") {
					t.Errorf("%s mounts: %s", n, m)
				}
				if got := c.tokenPath(t); got != tt.tokenPath {
					t.Errorf("%s token_path %q, want %q", n, got, tt.tokenPath)
				}
			}
			for _, v := range r.Spec.Volumes {
				if v.Name == saVolume {
					t.Error("rotor added its own token volume too")
				}
			}
		})
	}
}

// patchAnn is a JSON patch annotation line.
func patchAnn(key, patch string) string { return fmt.Sprintf("%s: '%s'", key, patch) }

const addEnvX = `[{"op":"add","path":"/env/-","value":{"name":"X","value":"1"}}]`

// TestJSONPatchShapes: which container each patch reaches in each shape.
func TestJSONPatchShapes(t *testing.T) {
	agentP := patchAnn(annJSONPatch, `[{"op":"replace","path":"/resources/limits/memory","value":"99Mi"}]`)
	initP := patchAnn(annInitJSONPatch, `[{"op":"replace","path":"/resources/requests/cpu","value":"77m"}]`)
	envMode := `rotorproject.github.io/env-TOKEN: "{{ with secret \"kv/x\" }}{{ .Data.v }}{{ end }}"`
	type want struct{ mem, cpu string }
	tests := []struct {
		name  string
		ann   []string
		want  map[string]want // container -> limits.memory, requests.cpu
		warns []string
	}{
		{"classic", []string{classic, agentP, initP}, map[string]want{sidecarName: {"99Mi", "10m"}, initName: {"64Mi", "77m"}}, nil},
		{"native", []string{agentP, initP, envMode}, map[string]want{sidecarName: {"99Mi", "77m"}, copyName: {"64Mi", "10m"}},
			[]string{"applied to rotor-agent too"}},
		{"native, init patch only", []string{initP}, map[string]want{sidecarName: {"64Mi", "77m"}}, []string{"applied to rotor-agent too"}},
		{"native without pre-populate", []string{agentP, initP, `vault.hashicorp.com/agent-pre-populate: "false"`},
			map[string]want{sidecarName: {"99Mi", "10m"}}, []string{"agent-init-json-patch: not applied"}},
		{"classic without pre-populate", []string{classic, agentP, initP, `vault.hashicorp.com/agent-pre-populate: "false"`},
			map[string]want{sidecarName: {"99Mi", "10m"}}, []string{"agent-init-json-patch: not applied"}},
		{"pre-populate only", []string{agentP, initP, `vault.hashicorp.com/agent-pre-populate-only: "true"`},
			map[string]want{initName: {"64Mi", "77m"}}, []string{"agent-json-patch: not applied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := renderExtras(t, extrasPod(tt.ann...))
			if err != nil {
				t.Fatal(err)
			}
			for n, w := range tt.want {
				c := r.container(t, n)
				if c.Resources.Limits["memory"] != w.mem || c.Resources.Requests["cpu"] != w.cpu {
					t.Errorf("%s: limits %v requests %v, want memory %s cpu %s", n, c.Resources.Limits, c.Resources.Requests, w.mem, w.cpu)
				}
			}
			got := strings.Join(r.warnings, "\n")
			for _, w := range tt.warns {
				if !strings.Contains(got, w) {
					t.Errorf("no warning %q in:\n%s", w, got)
				}
			}
			if len(tt.warns) == 0 && strings.Contains(got, "json-patch") {
				t.Errorf("unexpected warning:\n%s", got)
			}
		})
	}
	// The same patch in both annotations (what a user who patched both
	// vault-k8s containers alike writes) applies once to the native
	// sidecar.
	r, err := renderExtras(t, extrasPod(patchAnn(annJSONPatch, addEnvX), patchAnn(annInitJSONPatch, addEnvX)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range r.container(t, sidecarName).Env {
		if e.Name == "X" {
			n++
		}
	}
	if n != 1 || len(r.warnings) != 0 {
		t.Errorf("X set %d times, warnings %q", n, r.warnings)
	}
}

// TestJSONPatchAsAsked: a patch that removes rotor's command or its
// restartPolicy is applied as written (documented), on the container as
// built: command, env, probe and restartPolicy are there to patch.
func TestJSONPatchAsAsked(t *testing.T) {
	r, err := renderExtras(t, extrasPod(patchAnn(annJSONPatch,
		`[{"op":"test","path":"/restartPolicy","value":"Always"},{"op":"test","path":"/name","value":"rotor-agent"},`+
			`{"op":"remove","path":"/restartPolicy"},{"op":"remove","path":"/command"},`+
			`{"op":"move","from":"/startupProbe","path":"/readinessProbe"},`+
			`{"op":"add","path":"/lifecycle","value":{"preStop":{"exec":{"command":["/bin/sleep","5"]}}}}]`)))
	if err != nil {
		t.Fatal(err)
	}
	c := r.container(t, sidecarName)
	if c.RestartPolicy != "" || c.Command != nil || c.Lifecycle == nil {
		t.Errorf("restartPolicy %q, command %q, lifecycle %v", c.RestartPolicy, c.Command, c.Lifecycle)
	}
	if _, ok := c.env("VAULT_CONFIG"); !ok {
		t.Error("the patch lost the env")
	}
}

// TestJSONPatchRefused: a patch that does not apply refuses the pod,
// naming the annotation and the operation, as vault-k8s fails the
// injection; so does one that is not a patch, or leaves no container.
func TestJSONPatchRefused(t *testing.T) {
	tests := []struct{ ann, patch, want string }{
		{annJSONPatch, `[{"op":"replace","path":"/args/0","value":"x"}]`, annJSONPatch + `: operation 0 (replace /args/0): /args: no member "args"`},
		{annJSONPatch, `[{"op":"add","path":"/env/-","value":{}},{"op":"test","path":"/name","value":"vault-agent"}]`,
			annJSONPatch + ": operation 1 (test /name): test failed"},
		{annInitJSONPatch, `[{"op":"remove","path":"/volumeMounts/99"}]`, annInitJSONPatch + ": operation 0 (remove /volumeMounts/99): "},
		{annJSONPatch, `{"op":"add"}`, annJSONPatch + ": not a JSON patch"},
		{annJSONPatch, `[{"op":"upsert","path":"/a"}]`, annJSONPatch + `: operation 0: unknown op "upsert"`},
		{annJSONPatch, `[{"op":"replace","path":"","value":"x"}]`, annJSONPatch + ": the patched container is not an object"},
		{annJSONPatch, `[{"op":"replace","path":"/command","value":"rotor agent"}]`, annJSONPatch + ": the patched container is not a container"},
		{annJSONPatch, `[{"op":"remove","path":"/name"}]`, annJSONPatch + ": the patched container has no name"},
	}
	for _, tt := range tests {
		_, err := renderExtras(t, extrasPod(classic, patchAnn(tt.ann, tt.patch)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %s: err = %v, want %q", tt.ann, tt.patch, err, tt.want)
		}
	}
	// Empty is no patch, as in vault-k8s.
	if _, err := renderExtras(t, extrasPod(patchAnn(annJSONPatch, " "))); err != nil {
		t.Errorf("empty patch: %v", err)
	}
}

// TestJSONPatchRefusedByWebhook: through the webhook, the failing patch
// is an admission error naming the annotation and the operation.
func TestJSONPatchRefusedByWebhook(t *testing.T) {
	ca := newTestCA(t)
	url, _, client := startWebhook(t, ca, HandlerOptions{Options: DefaultOptions()})
	docs, err := decodeDocuments([]byte(extrasPod(patchAnn(annJSONPatch, `[{"op":"remove","path":"/args"}]`))))
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := json.Marshal(docs[0])
	resp := review(t, client, url, "default", pj)
	if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, annJSONPatch+": operation 0 (remove /args)") {
		t.Errorf("response %+v", resp)
	}
}
