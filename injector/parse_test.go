package injector

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// podWith is a one-container pod carrying the annotations.
func podWith(ann map[string]string) *pod {
	p := &pod{}
	p.Metadata.Annotations = ann
	p.Spec.Containers = []container{{Name: "app"}, {Name: "worker"}}
	return p
}

func base(extra map[string]string) map[string]string {
	a := map[string]string{annInject: "true", annRole: "app"}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

// TestParseDefaults checks the defaults vault-k8s gives an annotated pod
// (agent.Init and agent.New in agent-inject/agent).
func TestParseDefaults(t *testing.T) {
	s, warns, err := Parse(podWith(base(map[string]string{annSecret + "db": "database/creds/app"})), DefaultOptions())
	if err != nil || len(warns) != 0 {
		t.Fatalf("Parse: %v, warnings %v", err, warns)
	}
	want := map[string]any{
		"AuthType": "kubernetes", "AuthPath": "auth/kubernetes", "SecretVolumePath": "/vault/secrets",
		"DefaultTemplate": "map", "PrePopulate": true, "PrePopOnly": false, "InitFirst": false,
		"RunAsUser": int64(100), "RunAsGroup": int64(1000), "SetSecurityContext": true,
		"CacheEnable": false, "CachePort": "8200", "CacheUseToken": "true", "RevokeOnShutdown": false,
		"ExitOnRetryFailure": true, "Containers": []string{"app", "worker"}, "Sidecar": Native,
		"LogLevel": "info", "LogFormat": "standard",
	}
	v := reflect.ValueOf(*s)
	for field, w := range want {
		if got := v.FieldByName(field).Interface(); !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v, want %#v", field, got, w)
		}
	}
	if got := s.Secrets; len(got) != 1 || got[0] != (Secret{Name: "db", RawName: "db", Path: "database/creds/app", MountPath: "/vault/secrets"}) {
		t.Errorf("secrets = %+v", got)
	}
	if s.AuthConfig["role"] != "app" {
		t.Errorf("auth config = %v", s.AuthConfig)
	}
}

func TestParseSecrets(t *testing.T) {
	a := base(map[string]string{
		annSecret + "DB":                         "database/creds/app",
		annTemplate + "DB":                       "{{ . }}",
		annFile + "DB":                           "sub/db.env",
		annPerms + "DB":                          "0640",
		annCommand + "DB":                        "kill -HUP 1",
		annErrMissingKey + "DB":                  "true",
		annTemplateFile + "cfg":                  "/vault/configs/cfg.tpl",
		annSecret + "kept":                       "secret/data/kept",
		annPreserveCase + "-kept":                "true",
		annSecretVolumePath + "-kept":            "/etc/kept",
		annTemplate + "only":                     "static",
		annSecret + "empty":                      "  ",
		annAuthConfig + "token-path":             "/var/run/token",
		annLimits + "cpu":                        "1",
		annRequests + "mem":                      "32Mi",
		annDefaultTemplate:                       "JSON",
		"vault.hashicorp.com/go-max-procs":       "2",
		"vault.hashicorp.com/agent-revoke-grace": "5",
		"vault.hashicorp.com/agent-injekt":       "true",
		"example.com/other":                      "ignored, not ours",
	})
	s, warns, err := Parse(podWith(a), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := []Secret{
		{Name: "db", RawName: "DB", Path: "database/creds/app", Template: "{{ . }}", File: "sub/db.env", Perms: "0640",
			Command: "kill -HUP 1", ErrMissingKey: true, MountPath: "/vault/secrets"},
		{Name: "kept", RawName: "kept", Path: "secret/data/kept", MountPath: "/etc/kept"},
		{Name: "cfg", RawName: "cfg", TemplateFile: "/vault/configs/cfg.tpl", MountPath: "/vault/secrets"},
		{Name: "only", RawName: "only", Template: "static", MountPath: "/vault/secrets"},
	}
	if !reflect.DeepEqual(s.Secrets, want) {
		got, _ := json.MarshalIndent(s.Secrets, "", " ")
		t.Errorf("secrets:\n%s", got)
	}
	if s.DefaultTemplate != "json" || s.AuthConfig["token_path"] != "/var/run/token" {
		t.Errorf("default template %q, auth config %v", s.DefaultTemplate, s.AuthConfig)
	}
	if s.Limits["cpu"] != "1" || s.Limits["mem"] != "64Mi" || s.Requests["mem"] != "32Mi" || s.Requests["cpu"] != "10m" {
		t.Errorf("limits %v requests %v", s.Limits, s.Requests)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.Annotation)
	}
	if want := []string{"vault.hashicorp.com/agent-injekt", "vault.hashicorp.com/agent-revoke-grace"}; !reflect.DeepEqual(got, want) {
		t.Errorf("warnings for %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	root := int64(0)
	tests := []struct {
		name string
		ann  map[string]string
		want string
	}{
		{"no role", map[string]string{annInject: "true"}, "no Vault role"},
		{"bad bool", base(map[string]string{annPrePopulate: "sometimes"}), annPrePopulate},
		{"bad template type", base(map[string]string{annDefaultTemplate: "xml"}), "invalid default template"},
		{"bad perms", base(map[string]string{annSecret + "a": "p", annPerms + "a": "rw"}), "octal"},
		{"bad quantity", base(map[string]string{annLimits + "mem": "lots"}), "resource quantity"},
		{"bad uid", base(map[string]string{annRunAsUser: "-1"}), annRunAsUser},
		{"same user without runAsUser", base(map[string]string{annRunAsSameUser: "true"}), "runAsUser"},
		{"bad sidecar", base(map[string]string{annSidecar: "sometimes"}), annSidecar},
		{"bad backoff", base(map[string]string{annAuthMinBackoff: "soon"}), "duration"},
		{"bad env name", base(map[string]string{annEnvPrefix + "1X": "v"}), "environment variable name"},
		{"bad reload signal", base(map[string]string{annReloadSignal: "SIGFOO"}), "unknown signal"},
		{"restart not a bool", base(map[string]string{annRestartOnChange: "yes please"}), annRestartOnChange},
		{"restart debounce", base(map[string]string{annRestartOnChange: "true", annRestartDebounce: "2m"}), "from 0s to 30s"},
		{"restart without sidecar", base(map[string]string{annRestartOnChange: "true", annPrePopulateOnly: "true"}), "needs the running sidecar"},
		{"restart with configmap", base(map[string]string{annRestartOnChange: "true", annConfigMap: "cm"}), "rotor injector restart"},
		{"restart and signal", base(map[string]string{annRestartOnChange: "true", annReloadSignal: "SIGHUP"}), "choose one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse(podWith(tt.ann), DefaultOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	t.Run("same user root", func(t *testing.T) {
		p := podWith(base(map[string]string{annRunAsSameUser: "true"}))
		p.Spec.Containers[0].SecurityContext = &struct {
			RunAsUser *int64 `json:"runAsUser"`
		}{RunAsUser: &root}
		if _, _, err := Parse(p, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "root") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestShouldInject(t *testing.T) {
	tests := []struct {
		ann        map[string]string
		containers []string
		want       bool
	}{
		{map[string]string{}, nil, false},
		{map[string]string{annInject: "false"}, nil, false},
		{map[string]string{annInject: "true"}, nil, true},
		{map[string]string{annInject: "true", annStatus: "injected"}, nil, false},
		{map[string]string{annInject: "true", annStatus: "update"}, nil, true},
		{map[string]string{annInject: "true"}, []string{sidecarName}, false},
	}
	for _, tt := range tests {
		p := &pod{}
		for _, n := range tt.containers {
			p.Spec.InitContainers = append(p.Spec.InitContainers, container{Name: n})
		}
		if got, err := ShouldInject(tt.ann, p); got != tt.want || err != nil {
			t.Errorf("ShouldInject(%v, %v) = %v, %v; want %v", tt.ann, tt.containers, got, err, tt.want)
		}
	}
}
