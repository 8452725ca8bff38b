package injector

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// eksPod is a pod as the EKS pod identity webhook leaves it (IAM roles
// for service accounts): the AWS variables in the app containers and
// the aws-iam-token volume mounted at its path, after the service
// account's own mount. The second container's values lose to the first's;
// a variable from valueFrom has no value to copy.
func eksPod(extra ...string) string {
	ann := []string{`vault.hashicorp.com/agent-inject: "true"`, `vault.hashicorp.com/role: app`,
		`vault.hashicorp.com/auth-type: aws`, `vault.hashicorp.com/auth-path: auth/aws`,
		`vault.hashicorp.com/agent-inject-secret-db: database/creds/app`}
	return `apiVersion: v1
kind: Pod
metadata:
  name: eks
  annotations:
    ` + strings.Join(append(ann, extra...), "\n    ") + `
spec:
  containers:
    - name: app
      image: app
      env:
        - {name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}
        - {name: AWS_DEFAULT_REGION, value: us-east-1}
        - {name: AWS_REGION, value: us-east-1}
        - {name: AWS_ROLE_ARN, value: "arn:aws:iam::111122223333:role/app"}
        - {name: AWS_WEB_IDENTITY_TOKEN_FILE, value: /var/run/secrets/eks.amazonaws.com/serviceaccount/token}
      volumeMounts:
        - {name: kube-api-access-1, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
        - {name: aws-iam-token, mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount, readOnly: true}
    - name: other
      image: other
      env:
        - {name: AWS_ROLE_ARN, value: "arn:aws:iam::111122223333:role/other"}
        - name: AWS_ROLE_SESSION_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
  volumes:
    - name: kube-api-access-1
      projected: {sources: [{serviceAccountToken: {path: token}}]}
    - name: aws-iam-token
      projected: {sources: [{serviceAccountToken: {audience: sts.amazonaws.com, expirationSeconds: 86400, path: token}}]}
`
}

// agentEnvNames are the variables this file's annotations set.
var agentEnvNames = []string{"GOMAXPROCS", "VAULT_CLIENT_TIMEOUT", "VAULT_MAX_RETRIES",
	"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_SESSION_NAME"}

// agentEnv is the container's values of agentEnvNames, "NAME=value"
// in order; a name set twice shows twice.
func (c renderedContainer) agentEnv() string {
	var out []string
	for _, e := range c.Env {
		for _, n := range agentEnvNames {
			if e.Name == n {
				out = append(out, e.Name+"="+e.Value)
			}
		}
	}
	return strings.Join(out, " ")
}

// config is the container's VAULT_CONFIG, decoded.
func (c renderedContainer) config(t *testing.T) agentConfig {
	t.Helper()
	v, ok := c.env("VAULT_CONFIG")
	if !ok {
		t.Fatalf("%s has no VAULT_CONFIG", c.Name)
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	var cfg agentConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestAWSWebIdentity: with auth-type aws, the rotor containers get the
// app's AWS web identity as vault-k8s gives it to its agent containers:
// the variables (first value wins, auth-config-region as AWS_REGION)
// and the token volume, read-only at the app's path, which is the
// directory of AWS_WEB_IDENTITY_TOKEN_FILE.
func TestAWSWebIdentity(t *testing.T) {
	const base = "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/app " +
		"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token AWS_DEFAULT_REGION=us-east-1 "
	tests := []struct {
		name string
		ann  []string
		env  map[string]string // container -> agentEnv()
	}{
		{"classic", []string{classic}, map[string]string{initName: base + "AWS_REGION=us-east-1", sidecarName: base + "AWS_REGION=us-east-1"}},
		{"native, auth-config-region", []string{`vault.hashicorp.com/auth-config-region: eu-west-1`},
			map[string]string{sidecarName: base + "AWS_REGION=eu-west-1"}},
		{"pre-populate only", []string{`vault.hashicorp.com/agent-pre-populate-only: "true"`},
			map[string]string{initName: base + "AWS_REGION=us-east-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := renderExtras(t, eksPod(tt.ann...))
			if err != nil {
				t.Fatal(err)
			}
			for n, want := range tt.env {
				c := r.container(t, n)
				if got := c.agentEnv(); got != want {
					t.Errorf("%s env:\n got %s\nwant %s", n, got, want)
				}
				m := c.mounts()
				if !strings.Contains(m, "aws-iam-token:/var/run/secrets/eks.amazonaws.com/serviceaccount:ro") ||
					!strings.HasPrefix(m, "kube-api-access-1:/var/run/secrets/kubernetes.io/serviceaccount:ro ") {
					t.Errorf("%s mounts: %s", n, m)
				}
				if cfg := c.config(t); cfg.AutoAuth.Method.Type != "aws" {
					t.Errorf("%s method %q", n, cfg.AutoAuth.Method.Type)
				}
			}
			if got := r.container(t, "app").agentEnv(); !strings.Contains(got, "AWS_REGION=us-east-1") || strings.Contains(got, "eu-west-1") {
				t.Errorf("the app's env changed: %s", got)
			}
		})
	}
	// Another auth type copies nothing, as in vault-k8s.
	r, err := renderExtras(t, strings.Replace(eksPod(), "auth-type: aws", "auth-type: kubernetes", 1))
	if err != nil {
		t.Fatal(err)
	}
	if c := r.container(t, sidecarName); c.agentEnv() != "" || strings.Contains(c.mounts(), "aws-iam-token") {
		t.Errorf("kubernetes method: env %q mounts %s", c.agentEnv(), c.mounts())
	}
	// A copied mount of the same volume is not mounted twice.
	r, err = renderExtras(t, eksPod(`vault.hashicorp.com/agent-copy-volume-mounts: app`))
	if err != nil {
		t.Fatal(err)
	}
	if m := r.container(t, sidecarName).mounts(); strings.Count(m, "aws-iam-token") != 1 {
		t.Errorf("mounts: %s", m)
	}
}

// TestAgentProcessEnv: client-timeout, client-max-retries and
// go-max-procs as the rotor containers' VAULT_CLIENT_TIMEOUT,
// VAULT_MAX_RETRIES and GOMAXPROCS (not in rotor-copy or the app), and a
// value the reader would refuse or ignore refuses the pod.
func TestAgentProcessEnv(t *testing.T) {
	r, err := renderExtras(t, extrasPod(classic, `vault.hashicorp.com/client-timeout: "90"`,
		`vault.hashicorp.com/client-max-retries: "0"`, `vault.hashicorp.com/go-max-procs: "2"`,
		`rotorproject.github.io/env-TOKEN: "{{ with secret \"kv/x\" }}{{ .Data.v }}{{ end }}"`))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{initName, sidecarName} {
		if got := r.container(t, n).agentEnv(); got != "GOMAXPROCS=2 VAULT_CLIENT_TIMEOUT=90 VAULT_MAX_RETRIES=0" {
			t.Errorf("%s: %s", n, got)
		}
	}
	for _, n := range []string{copyName, "app"} {
		if got := r.container(t, n).agentEnv(); got != "" {
			t.Errorf("%s: %s", n, got)
		}
	}
	r, _ = renderExtras(t, extrasPod(`vault.hashicorp.com/client-timeout: ""`))
	if got := r.container(t, sidecarName).agentEnv(); got != "" || len(r.warnings) != 0 {
		t.Errorf("empty annotation: env %q warnings %q", got, r.warnings)
	}
	for _, ok := range []string{"30s", "1m30s", "2d", "0"} {
		if _, err := renderExtras(t, extrasPod(`vault.hashicorp.com/client-timeout: "`+ok+`"`)); err != nil {
			t.Errorf("client-timeout %q: %v", ok, err)
		}
	}
	bad := []struct{ ann, value, want string }{
		{annClientTimeout, "soon", "is not a duration"},
		{annClientTimeout, "-5s", "is not a duration"},
		{annClientTimeout, "1.5d", "is not a duration"},
		{annClientMaxRetries, "-1", "is not a count of retries"},
		{annClientMaxRetries, "two", "is not a count of retries"},
		{annGoMaxProcs, "0", "is not a positive number of CPUs"},
		{annGoMaxProcs, "1.5", "is not a positive number of CPUs"},
	}
	for _, b := range bad {
		_, err := renderExtras(t, extrasPod(b.ann+`: "`+b.value+`"`))
		if want := b.ann + `: "` + b.value + `" ` + b.want; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s %q: err = %v, want %q", b.ann, b.value, err, want)
		}
	}
}

// quitOn returns the addresses of the listeners with the quit endpoint,
// and of all listeners.
func quitOn(cfg agentConfig) (quit, all []string) {
	for _, l := range cfg.Listener {
		all = append(all, l.Address)
		if l.AgentAPI != nil && l.AgentAPI.EnableQuit {
			quit = append(quit, l.Address)
		}
	}
	return quit, all
}

// TestEnableQuit: agent_api { enable_quit = true } on the listener at
// agent-cache-listener-port (the cache's, else a new one with an empty
// cache block), as vault-k8s writes it, never on rotor's status listener.
func TestEnableQuit(t *testing.T) {
	tests := []struct {
		name      string
		ann       []string
		quit, all string
		cache     *cacheBlock
		warn      string
	}{
		{"classic", []string{classic}, "127.0.0.1:8200", "127.0.0.1:8210 127.0.0.1:8200", &cacheBlock{}, ""},
		{"classic with the cache", []string{classic, `vault.hashicorp.com/agent-cache-enable: "true"`,
			`vault.hashicorp.com/agent-cache-listener-port: "8300"`, `vault.hashicorp.com/agent-cache-use-auto-auth-token: force`},
			"127.0.0.1:8300", "127.0.0.1:8210 127.0.0.1:8300", &cacheBlock{UseAutoAuthToken: "force"}, ""},
		{"native", nil, "127.0.0.1:8200", "127.0.0.1:8210 127.0.0.1:8200", &cacheBlock{}, "the kubelet restarts it after a quit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := renderExtras(t, extrasPod(append(tt.ann, `vault.hashicorp.com/agent-enable-quit: "true"`)...))
			if err != nil {
				t.Fatal(err)
			}
			cfg := r.container(t, sidecarName).config(t)
			quit, all := quitOn(cfg)
			if strings.Join(quit, " ") != tt.quit || strings.Join(all, " ") != tt.all {
				t.Errorf("quit on %v, listeners %v", quit, all)
			}
			if cfg.Cache == nil || *cfg.Cache != *tt.cache {
				t.Errorf("cache %+v, want %+v", cfg.Cache, tt.cache)
			}
			if w := strings.Join(r.warnings, "\n"); tt.warn == "" && w != "" || !strings.Contains(w, tt.warn) {
				t.Errorf("warnings %q, want %q", w, tt.warn)
			}
			if tt.ann != nil {
				if icfg := r.container(t, initName).config(t); len(icfg.Listener) != 0 || icfg.Cache != nil {
					t.Errorf("init container: listeners %+v cache %+v", icfg.Listener, icfg.Cache)
				}
			}
		})
	}
	// Off (the default, or "false"): no listener but the status one.
	for _, v := range []string{"", `vault.hashicorp.com/agent-enable-quit: "false"`} {
		r, err := renderExtras(t, extrasPod(v))
		if err != nil {
			t.Fatal(err)
		}
		if quit, all := quitOn(r.container(t, sidecarName).config(t)); len(quit) != 0 || len(all) != 1 {
			t.Errorf("%q: quit on %v, listeners %v", v, quit, all)
		}
	}
	// No sidecar, or the ConfigMap's config: not applied, said so.
	r, err := renderExtras(t, extrasPod(`vault.hashicorp.com/agent-enable-quit: "true"`, `vault.hashicorp.com/agent-pre-populate-only: "true"`))
	if err != nil || !strings.Contains(strings.Join(r.warnings, "\n"), annEnableQuit+": not applied") {
		t.Errorf("pre-populate-only: err %v warnings %q", err, r.warnings)
	} else if quit, _ := quitOn(r.container(t, initName).config(t)); len(quit) != 0 {
		t.Errorf("pre-populate-only: quit on %v", quit)
	}
	r, err = renderExtras(t, extrasPod(`vault.hashicorp.com/agent-enable-quit: "true"`, `vault.hashicorp.com/agent-configmap: cfg`))
	if err != nil || !strings.Contains(strings.Join(r.warnings, "\n"), annEnableQuit+": not applied, as in vault-k8s") {
		t.Errorf("configmap: err %v warnings %q", err, r.warnings)
	}
	// Refused: not a boolean; a port the listener cannot have.
	for ann, want := range map[string]string{
		`vault.hashicorp.com/agent-enable-quit: "yes please"`:    annEnableQuit + `: "yes please" is not a boolean`,
		`vault.hashicorp.com/agent-cache-listener-port: "8210"`:  annCacheListenerPort + ": port 8210 is the sidecar's status listener",
		`vault.hashicorp.com/agent-cache-listener-port: "80000"`: annCacheListenerPort + `: "80000" is not a port`,
	} {
		_, err := renderExtras(t, extrasPod(`vault.hashicorp.com/agent-enable-quit: "true"`, ann))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", ann, err, want)
		}
	}
}

// TestAgentProcessAnnotationsKnown: the annotations this file honours
// are no longer reported; agent-metrics-listener-port is, with its reason.
func TestAgentProcessAnnotationsKnown(t *testing.T) {
	r, err := renderExtras(t, eksPod(`vault.hashicorp.com/client-timeout: "30"`, `vault.hashicorp.com/client-max-retries: "3"`,
		`vault.hashicorp.com/go-max-procs: "1"`, `vault.hashicorp.com/agent-enable-quit: "false"`,
		`vault.hashicorp.com/agent-metrics-listener-port: "9102"`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.warnings) != 1 || !strings.HasPrefix(r.warnings[0], annMetricsListenerPort+": no metrics listener is added") {
		t.Errorf("warnings %q", r.warnings)
	}
}
