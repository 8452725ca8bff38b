package injector

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"text/template"

	yaml "gopkg.in/yaml.v2"
)

// Helm is not run here (it is not installed, and no package provides it):
// the chart's templates are rendered by text/template with the functions
// they use, defined as Helm and sprig define them. The templates keep to
// that subset: include, default, printf, toYaml, nindent, with, if, range.

const chartDir = "../configs/kubernetes/helm/rotor-injector"

// helmFuncs are Helm's definitions (pkg/engine/funcs.go, sprig) of the
// functions the chart calls; include is added by helmRender.
func helmFuncs() template.FuncMap {
	indent := func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	}
	return template.FuncMap{
		// Helm: yaml.Marshal, then the final newline trimmed.
		"toYaml": func(v any) string {
			b, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(b), "\n")
		},
		"indent":  indent,
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		// sprig: the given value unless it is empty (nil, "", 0, false, an
		// empty map or list), else the default.
		"default": func(d any, given ...any) any {
			if len(given) == 0 || isEmpty(given[0]) {
				return d
			}
			return given[0]
		},
		"quote": func(s ...any) string {
			var out []string
			for _, v := range s {
				if v != nil {
					out = append(out, fmt.Sprintf("%q", fmt.Sprint(v)))
				}
			}
			return strings.Join(out, " ")
		},
	}
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.String, reflect.Map, reflect.Slice, reflect.Array:
		return r.Len() == 0
	case reflect.Bool:
		return !r.Bool()
	case reflect.Int, reflect.Int64, reflect.Int32:
		return r.Int() == 0
	case reflect.Float64, reflect.Float32:
		return r.Float() == 0
	}
	return false
}

// helmRender renders the chart as `helm template NAME -n NS` would with
// the values overridden by over, and returns the objects in file order.
func helmRender(t *testing.T, name, ns string, over map[string]any) []map[string]any {
	t.Helper()
	vb, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := yaml.Unmarshal(vb, &raw); err != nil {
		t.Fatal(err)
	}
	values := plain(raw).(map[string]any)
	coalesce(values, over)
	files, _ := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	tpl := template.New("chart").Funcs(helmFuncs()).Option("missingkey=zero")
	tpl.Funcs(template.FuncMap{"include": func(n string, data any) (string, error) {
		var b strings.Builder
		err := tpl.ExecuteTemplate(&b, n, data)
		return b.String(), err
	}})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tpl.New(filepath.Base(f)).Parse(string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	data := map[string]any{"Values": values, "Release": map[string]any{"Name": name, "Namespace": ns, "Service": "Helm"},
		"Chart": map[string]any{"Name": "rotor-injector"}}
	var objs []map[string]any
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "_") || !strings.HasSuffix(base, ".yaml") {
			continue
		}
		var b strings.Builder
		if err := tpl.ExecuteTemplate(&b, base, data); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		out := strings.ReplaceAll(b.String(), "<no value>", "") // as Helm does
		if strings.TrimSpace(out) == "" {
			continue
		}
		docs, err := decodeDocuments([]byte(out))
		if err != nil {
			t.Fatalf("%s renders YAML that does not parse: %v\n%s", base, err, out)
		}
		for _, d := range docs {
			objs = append(objs, d.(map[string]any))
		}
	}
	return objs
}

// plain turns yaml.v2's maps into map[string]any, as Helm's values are.
func plain(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := map[string]any{}
		for k, e := range x {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	}
	return v
}

// coalesce merges over into values, maps key by key (helm --set/-f).
func coalesce(values, over map[string]any) {
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if dm, ok := values[k].(map[string]any); ok {
				coalesce(dm, vm)
				continue
			}
		}
		values[k] = v
	}
}

// byKey indexes objects by kind/name.
func byKey(objs []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		out[o["kind"].(string)+"/"+o["metadata"].(map[string]any)["name"].(string)] = o
	}
	return out
}

// TestChartDefaultsAreTheManifests: with its default values, the chart
// renders the objects of injector.yaml (but the Namespace, which helm
// install --create-namespace makes) and cert-manager.yaml.
func TestChartDefaultsAreTheManifests(t *testing.T) {
	var want []map[string]any
	for _, f := range []string{"injector.yaml", "cert-manager.yaml"} {
		b, err := os.ReadFile(filepath.Join("../configs/kubernetes/injector", f))
		if err != nil {
			t.Fatal(err)
		}
		docs, err := decodeDocuments(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if m := d.(map[string]any); m["kind"] != "Namespace" {
				want = append(want, m)
			}
		}
	}
	got := byKey(helmRender(t, "rotor-injector", "rotor-injector", nil))
	if len(got) != len(want) {
		t.Errorf("the chart renders %d objects, the manifests have %d", len(got), len(want))
	}
	for k, w := range byKey(want) {
		g, ok := got[k]
		if !ok {
			t.Errorf("the chart does not render %s", k)
			continue
		}
		if !reflect.DeepEqual(normal(g), normal(w)) {
			gy, _ := yaml.Marshal(g)
			wy, _ := yaml.Marshal(w)
			t.Errorf("%s differs:\nchart:\n%s\nmanifest:\n%s", k, gy, wy)
		}
	}
}

// normal makes numbers comparable whichever decoder produced them.
func normal(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normal(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normal(e)
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// TestChartValues: each value reaches the object it is for.
func TestChartValues(t *testing.T) {
	sel := map[string]any{"matchLabels": map[string]any{"rotor-injection": "enabled"}}
	objs := byKey(helmRender(t, "inj", "secrets", map[string]any{
		"image":             map[string]any{"repository": "r.example/rotor", "tag": "1.2.3", "pullPolicy": "IfNotPresent"},
		"vault":             map[string]any{"address": "https://vault.example:8200", "authPath": "auth/k8s-prod"},
		"sidecar":           map[string]any{"mode": "native", "resources": map[string]any{"requests": map[string]any{"cpu": "20m", "memory": "32Mi"}, "limits": map[string]any{"memory": "96Mi"}}},
		"failurePolicy":     "Fail",
		"failOpen":          true,
		"namespaceSelector": sel,
		"resources":         map[string]any{"limits": map[string]any{"cpu": "1"}},
		"tls":               map[string]any{"certManager": false, "secretName": "my-tls", "caBundle": "Q0EK"},
	}))
	for k := range objs {
		if strings.HasPrefix(k, "Issuer/") || strings.HasPrefix(k, "Certificate/") {
			t.Errorf("cert-manager is off, yet %s is rendered", k)
		}
	}
	dep := objs["Deployment/inj"]
	if dep == nil || dep["metadata"].(map[string]any)["namespace"] != "secrets" {
		t.Fatalf("no Deployment inj in namespace secrets: %v", objs)
	}
	pod := dep["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	var args []string
	for _, a := range c["args"].([]any) {
		args = append(args, a.(string))
	}
	wantArgs := []string{"injector", "serve", "-listen=:8443", "-vault-address=https://vault.example:8200", "-auth-path=auth/k8s-prod",
		"-image=r.example/rotor:1.2.3", "-sidecar=native", "-requests-cpu=20m", "-requests-mem=32Mi", "-limits-mem=96Mi", "-fail-open"}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("args %q\nwant %q", args, wantArgs)
	}
	if c["image"] != "r.example/rotor:1.2.3" || c["imagePullPolicy"] != "IfNotPresent" {
		t.Errorf("image %v %v", c["image"], c["imagePullPolicy"])
	}
	// Values merge map by map, as Helm coalesces them.
	wantRes := map[string]any{"limits": map[string]any{"cpu": "1", "memory": "64Mi"}, "requests": map[string]any{"cpu": "10m", "memory": "24Mi"}}
	if got := normal(c["resources"]); !reflect.DeepEqual(got, normal(wantRes)) {
		t.Errorf("resources %v", got)
	}
	if s := pod["volumes"].([]any)[0].(map[string]any)["secret"].(map[string]any)["secretName"]; s != "my-tls" {
		t.Errorf("certificate Secret %v", s)
	}
	wh := objs["MutatingWebhookConfiguration/inj"]
	if _, ok := wh["metadata"].(map[string]any)["annotations"]; ok {
		t.Error("the cert-manager annotation is set without cert-manager")
	}
	hook := wh["webhooks"].([]any)[0].(map[string]any)
	if hook["failurePolicy"] != "Fail" || hook["clientConfig"].(map[string]any)["caBundle"] != "Q0EK" ||
		!reflect.DeepEqual(hook["namespaceSelector"], sel) {
		t.Errorf("webhook %v", hook)
	}
	if svc := hook["clientConfig"].(map[string]any)["service"].(map[string]any); svc["name"] != "inj" || svc["namespace"] != "secrets" {
		t.Errorf("webhook service %v", svc)
	}
	// Every flag the chart can pass is one `rotor injector serve` has.
	flags, _ := os.ReadFile("../cmd/rotor/injector.go")
	for _, a := range wantArgs[2:] {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !strings.Contains(string(flags), `"`+name+`"`) {
			t.Errorf("rotor injector serve has no flag -%s", name)
		}
	}
}
