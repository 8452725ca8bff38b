package injectorkube

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	statusAnn = "vault.hashicorp.com/agent-inject-status"
	saPath    = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// TestWebhookBehindAPIServer registers the injector with a real API server
// from the shipped manifest and creates pods through it: what the API
// server stores is what a cluster would run. The subtests share one API
// server and run in order; the last one stops the injector.
func TestWebhookBehindAPIServer(t *testing.T) {
	l := newLab(t)

	t.Run("sidecar shape from the API server's version", func(t *testing.T) {
		v := l.kube.Version(t)
		if v.Major != "1" || v.Minor == "" {
			t.Fatalf("GET /version = %+v: the kube-apiserver binary was built without its version (make kube sets it)", v)
		}
		line := logLine(t, l.log, "sidecar shape from the API server's version")
		t.Logf("GET /version: %+v; the injector logged %v", v, line)
		if line == nil {
			t.Fatal("the injector did not read the API server's version (with its service account token)")
		}
		if line["version"] != v.GitVersion || line["sidecar"] != "native" {
			t.Errorf("injector chose %v from version %v; the API server says %s (native from 1.29)", line["sidecar"], line["version"], v.GitVersion)
		}
	})

	t.Run("native sidecar", func(t *testing.T) {
		p, r := l.stored(t, appNS, annotatedPod("native", map[string]string{"vault.hashicorp.com/agent-revoke-grace": "5"}))
		if got := p.Metadata.Annotations[statusAnn]; got != "injected" {
			t.Errorf("%s = %q, want injected", statusAnn, got)
		}
		inits, cs := p.names()
		if !slices.Equal(inits, []string{"rotor-agent"}) || !slices.Equal(cs, []string{"app"}) {
			t.Fatalf("init containers %v, containers %v; want [rotor-agent], [app]", inits, cs)
		}
		agent := p.container("rotor-agent")
		if agent.RestartPolicy != "Always" {
			t.Errorf("rotor-agent restartPolicy %q, want Always (a native sidecar)", agent.RestartPolicy)
		}
		if pr := agent.StartupProbe; pr == nil || pr.Exec == nil || !slices.Contains(pr.Exec.Command, "health") ||
			!slices.Contains(pr.Exec.Command, "-ready") || pr.PeriodSeconds != 1 {
			t.Errorf("rotor-agent startup probe %+v, want `rotor health -ready` every second", pr)
		}
		if agent.Image != "registry.example.com/rotor:test" {
			t.Errorf("rotor-agent image %q", agent.Image)
		}
		if got := p.container("app").mount("vault-secrets"); got != "/vault/secrets" {
			t.Errorf("app mounts vault-secrets at %q, want /vault/secrets", got)
		}
		// The ServiceAccount admission plugin runs before webhooks: the
		// injector saw its token volume and gave rotor the same one.
		tokenVol := p.container("app").mountAt(saPath)
		if !strings.HasPrefix(tokenVol, "kube-api-access-") || agent.mountAt(saPath) != tokenVol {
			t.Errorf("rotor-agent mounts %q at %s, the app %q: want the API server's kube-api-access volume",
				agent.mountAt(saPath), saPath, tokenVol)
		}
		if p.hasVolume("rotor-sa-token") {
			t.Error("rotor got a token volume of its own though the pod had the API server's")
		}
		// The webhook's warnings reach the client (kubectl prints them).
		t.Logf("the API server's warnings: %q", r.Warnings)
		if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "agent-revoke-grace") }) {
			t.Errorf("the API server's answer carries no warning for agent-revoke-grace: %q", r.Warnings)
		}
	})

	t.Run("classic shape by annotation", func(t *testing.T) {
		p, _ := l.stored(t, appNS, annotatedPod("classic", map[string]string{"rotorproject.github.io/sidecar": "classic"}))
		inits, cs := p.names()
		if !slices.Equal(inits, []string{"rotor-agent-init"}) || !slices.Equal(cs, []string{"app", "rotor-agent"}) {
			t.Fatalf("init containers %v, containers %v; want [rotor-agent-init], [app rotor-agent]", inits, cs)
		}
		for _, n := range []string{"rotor-agent-init", "rotor-agent"} {
			if c := p.container(n); c.RestartPolicy != "" || c.StartupProbe != nil {
				t.Errorf("%s: restartPolicy %q, startup probe %v: the classic shape has neither", n, c.RestartPolicy, c.StartupProbe != nil)
			}
		}
		if !slices.Contains(p.container("rotor-agent-init").Command, "-once") {
			t.Errorf("rotor-agent-init runs %v, want rotor agent -once", p.container("rotor-agent-init").Command)
		}
		if p.Metadata.Annotations[statusAnn] != "injected" {
			t.Errorf("no %s", statusAnn)
		}
	})

	t.Run("rotor's own shapes pass the API server's validation", func(t *testing.T) {
		// Env mode: rotor-copy and the wrapped command.
		env := annotatedPod("env", map[string]string{"rotorproject.github.io/env-API_KEY": `{{ with secret "secret/data/foo" }}{{ .Data.data.k }}{{ end }}`})
		p, _ := l.stored(t, appNS, env)
		if inits, _ := p.names(); !slices.Equal(inits, []string{"rotor-copy", "rotor-agent"}) {
			t.Errorf("env mode: init containers %v, want [rotor-copy rotor-agent]", inits)
		}
		if c := p.container("app").Command; len(c) == 0 || c[0] != "/rotor/bin/rotor" {
			t.Errorf("env mode: the app runs %v, want the copied rotor", c)
		}

		// Reload signal: a shared process namespace, rotor as the app's user.
		sig := annotatedPod("signal", map[string]string{"rotorproject.github.io/reload-signal": "SIGHUP"})
		sig["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["securityContext"] = map[string]any{"runAsUser": 1234}
		p, _ = l.stored(t, appNS, sig)
		if sc := p.container("rotor-agent").SecurityContext; p.Spec.ShareProcessNamespace == nil || !*p.Spec.ShareProcessNamespace ||
			sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 1234 {
			t.Errorf("reload signal: shareProcessNamespace %v, rotor-agent's security context %+v", p.Spec.ShareProcessNamespace, sc)
		}

		// Restart on change, in a pod named by generateName as a
		// ReplicaSet's are (no name at admission), without the automounted
		// token: the downward API names the pod, rotor's own projected token
		// volume carries the API server's CA.
		rs := annotatedPod("", map[string]string{"rotorproject.github.io/restart-on-change": "true"})
		meta := rs["metadata"].(map[string]any)
		delete(meta, "name")
		meta["generateName"] = "web-"
		rs["spec"].(map[string]any)["automountServiceAccountToken"] = false
		p, _ = l.stored(t, appNS, rs)
		agent := p.container("rotor-agent")
		if !strings.HasPrefix(p.Metadata.Name, "web-") || agent.fieldRef("ROTOR_POD_NAME") != "metadata.name" ||
			agent.fieldRef("ROTOR_POD_NAMESPACE") != "metadata.namespace" {
			t.Errorf("restart on change: pod %q, ROTOR_POD_NAME from %q, ROTOR_POD_NAMESPACE from %q",
				p.Metadata.Name, agent.fieldRef("ROTOR_POD_NAME"), agent.fieldRef("ROTOR_POD_NAMESPACE"))
		}
		if agent.mountAt("/var/run/secrets/vault.hashicorp.com/serviceaccount") != "rotor-sa-token" || !p.hasVolume("rotor-sa-token") {
			t.Errorf("restart on change without the automounted token: rotor-agent mounts %v", agent.VolumeMounts)
		}
	})

	t.Run("shipped example pod", func(t *testing.T) {
		l.kube.CreateNamespace(t, "orders")
		l.kube.CreateServiceAccount(t, "orders", "orders")
		b, err := os.ReadFile("../../configs/kubernetes/injector/example-pod.yaml")
		if err != nil {
			t.Fatal(err)
		}
		r := l.kube.Request(t, http.MethodPost, podsPath("orders"), "application/yaml", b)
		if r.Code != http.StatusCreated {
			t.Fatalf("example-pod.yaml: %d %s", r.Code, r.Status.Message)
		}
		p := decodePod(t, l.kube.Must(t, http.MethodGet, podsPath("orders")+"/orders", nil, nil).Body)
		if c := p.container("rotor-agent"); c == nil || c.RestartPolicy != "Always" || p.Metadata.Annotations[statusAnn] != "injected" {
			t.Errorf("example pod not injected with a native sidecar: %+v", p.Spec.InitContainers)
		}
	})

	t.Run("left alone", func(t *testing.T) {
		for _, c := range []struct {
			name, ns string
			pod      map[string]any
		}{
			{"not annotated", appNS, plainPod("plain", nil)},
			{"agent-inject false", appNS, plainPod("optout", map[string]string{"vault.hashicorp.com/agent-inject": "false", "vault.hashicorp.com/role": "app"})},
			// Excluded by the manifest's namespaceSelector, and by the
			// injector itself.
			{"kube-system", "kube-system", annotatedPod("system", nil)},
		} {
			p, _ := l.stored(t, c.ns, c.pod)
			inits, cs := p.names()
			if len(inits) != 0 || !slices.Equal(cs, []string{"app"}) || p.Metadata.Annotations[statusAnn] != "" || p.hasVolume("vault-secrets") {
				t.Errorf("%s: mutated: init containers %v, containers %v, status %q", c.name, inits, cs, p.Metadata.Annotations[statusAnn])
			}
		}
	})

	t.Run("not injected twice", func(t *testing.T) {
		// A stored injected pod created again, as `kubectl get -o json |
		// kubectl create -f -` does: the webhook sees its own containers
		// and the status annotation and leaves it as it is.
		raw := l.kube.Must(t, http.MethodGet, podsPath(appNS)+"/native", nil, nil).Body
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		meta := obj["metadata"].(map[string]any)
		for _, k := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields"} {
			delete(meta, k)
		}
		meta["name"] = "native-again"
		delete(obj, "status")
		p, _ := l.stored(t, appNS, obj)
		orig := decodePod(t, raw)
		oi, oc := orig.names()
		inits, cs := p.names()
		if !slices.Equal(inits, oi) || !slices.Equal(cs, oc) || len(p.Spec.Volumes) != len(orig.Spec.Volumes) {
			t.Errorf("created again: init containers %v, containers %v, %d volumes; first %v, %v, %d",
				inits, cs, len(p.Spec.Volumes), oi, oc, len(orig.Spec.Volumes))
		}
	})

	t.Run("annotations it cannot apply refuse the pod", func(t *testing.T) {
		bad := plainPod("norole", map[string]string{"vault.hashicorp.com/agent-inject": "true",
			"vault.hashicorp.com/agent-inject-secret-foo": "secret/data/foo"})
		r := l.create(t, appNS, bad)
		t.Logf("%d %s", r.Code, r.Status.Message)
		if r.Code != http.StatusBadRequest || !strings.Contains(r.Status.Message, `admission webhook "`+webhookName+`" denied the request`) ||
			!strings.Contains(r.Status.Message, "vault.hashicorp.com/role") {
			t.Errorf("a pod without a role: %d %q; want 400, denied by the webhook, naming vault.hashicorp.com/role", r.Code, r.Status.Message)
		}
		if code, _, _ := l.kube.Do(t.Context(), http.MethodGet, podsPath(appNS)+"/norole", "", nil); code != http.StatusNotFound {
			t.Errorf("the refused pod is stored (GET: %d)", code)
		}
	})

	t.Run("webhook down", func(t *testing.T) {
		l.stopInjector(t)
		// failurePolicy: Ignore (the shipped manifest's): pods are
		// admitted without rotor.
		p, _ := l.stored(t, appNS, annotatedPod("while-down", nil))
		if p.container("rotor-agent") != nil || p.Metadata.Annotations[statusAnn] != "" {
			t.Errorf("admitted while the webhook was down, yet mutated")
		}

		// failurePolicy: Fail: refused until the injector is back.
		patch := []map[string]any{{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Fail"}}
		if r := l.kube.Request(t, http.MethodPatch, webhookPath, "application/json-patch+json", mustJSON(t, patch)); r.Code != http.StatusOK {
			t.Fatalf("failurePolicy Fail: %d %s", r.Code, r.Status.Message)
		}
		waitFor(t, 30*time.Second, "failurePolicy Fail to take effect", func() bool {
			return l.kube.Request(t, http.MethodPost, podsPath(appNS)+"?dryRun=All", "", annotatedPod("probe-fail", nil)).Code != http.StatusCreated
		})
		for _, name := range []string{"refused", "refused-plain"} {
			pd := annotatedPod(name, nil)
			if name == "refused-plain" {
				pd = plainPod(name, nil) // every pod the webhook's rules select
			}
			r := l.create(t, appNS, pd)
			t.Logf("%s: %d %s", name, r.Code, r.Status.Message)
			if r.Code/100 == 2 || !strings.Contains(r.Status.Message, `failed calling webhook "`+webhookName+`"`) {
				t.Errorf("%s with the webhook down and failurePolicy Fail: %d %q; want refused, naming the webhook", name, r.Code, r.Status.Message)
			}
			if code, _, _ := l.kube.Do(t.Context(), http.MethodGet, podsPath(appNS)+"/"+name, "", nil); code != http.StatusNotFound {
				t.Errorf("%s: stored though refused (GET: %d)", name, code)
			}
		}
		// The namespaceSelector leaves the injector's own namespace out,
		// so its pods can start while it is down.
		if p, _ := l.stored(t, "rotor-injector", annotatedPod("injector-pod", nil)); p.container("rotor-agent") != nil {
			t.Error("a pod in rotor-injector was mutated")
		}
	})
}

// logLine returns the first JSON log line of file whose msg is msg.
func logLine(t *testing.T, file, msg string) map[string]any {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}
