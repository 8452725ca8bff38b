// Package injectorkube runs rotor's admission webhook (`rotor injector
// serve`) behind a real kube-apiserver (test/harness/kubereal): the shipped
// manifest registers it, pods are created through the API server and the
// pods it stores are checked. No kubelet runs: what a pod does once
// scheduled is test/injectorrun's.
package injectorkube

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/kubereal"
	"github.com/rotorproject/rotor/test/harness/proc"
)

func TestMain(m *testing.M) { proc.Main(m) }

const (
	webhookName = "injector.rotorproject.github.io"
	webhookPath = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/rotor-injector"
	appNS       = "apps"
)

// lab is an API server with rotor's webhook registered from the shipped
// manifest, pointing at a `rotor injector serve` on loopback.
type lab struct {
	kube     *kubereal.Cluster
	injector *proc.Process
	log      string // the injector's log file
}

// newLab starts the API server, applies configs/kubernetes/injector/injector.yaml
// to it, starts the injector with -sidecar=auto and the injector's own
// service account token, and points the registered webhook at it.
func newLab(t *testing.T) *lab {
	t.Helper()
	kube := kubereal.Start(t)
	l := &lab{kube: kube}
	l.applyManifest(t)
	for _, ns := range []string{appNS, "kube-system"} {
		kube.CreateNamespace(t, ns)
	}
	kube.CreateServiceAccount(t, "rotor-injector", "default")

	// The injector's service account mount, as the kubelet would project
	// it: a token the API server signed for rotor-injector/rotor-injector,
	// and the API server's CA.
	sa := t.TempDir()
	writeFile(t, filepath.Join(sa, "token"), kube.ServiceAccountToken(t, "rotor-injector", "rotor-injector"))
	writeFile(t, filepath.Join(sa, "ca.crt"), string(kube.CA.PEM))

	ca, err := kubereal.NewCA("rotor injector CA")
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := t.TempDir()
	certFile, keyFile, err := ca.Serving(tlsDir, "tls", "rotor-injector.rotor-injector.svc")
	if err != nil {
		t.Fatal(err)
	}
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	l.log = filepath.Join(t.TempDir(), "injector.log")
	logf, err := os.Create(l.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(proc.Rotor(t), "injector", "serve", "-listen", addr,
		"-tls-cert-file", certFile, "-tls-key-file", keyFile, "-sidecar=auto", "-sa-dir", sa,
		"-vault-address=https://vault.vault.svc:8200", "-image=registry.example.com/rotor:test")
	cmd.Env = proc.CleanEnv("KUBERNETES_SERVICE_HOST="+kube.Host, "KUBERNETES_SERVICE_PORT="+kube.Port)
	cmd.Stdout, cmd.Stderr = logf, logf
	l.injector = proc.StartT(t, cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("injector log:\n%s", proc.Tail(l.log, 30))
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	waitFor(t, 30*time.Second, "the injector's /healthz", func() bool {
		resp, err := hc.Get("https://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// The manifest's webhook calls the Service rotor-injector; with no
	// kube-proxy or endpoints on loopback, the test points it at the
	// process by URL, with the injector CA as caBundle (what
	// cert-manager's CA injector would fill in).
	patch := []map[string]any{{"op": "replace", "path": "/webhooks/0/clientConfig", "value": map[string]any{
		"url": "https://" + addr + "/mutate", "caBundle": base64.StdEncoding.EncodeToString(ca.PEM)}}}
	r := kube.Request(t, http.MethodPatch, webhookPath, "application/json-patch+json", mustJSON(t, patch))
	if r.Code != http.StatusOK {
		t.Fatalf("pointing the webhook at the injector: %d %s", r.Code, r.Status.Message)
	}
	// The API server reads webhook registrations through an informer: wait
	// until a dry-run create is mutated.
	waitFor(t, 30*time.Second, "the webhook's registration to take effect", func() bool {
		r := kube.Request(t, http.MethodPost, podsPath(appNS)+"?dryRun=All", "", annotatedPod("probe", nil))
		return r.Code == http.StatusCreated && decodePod(t, r.Body).container("rotor-agent") != nil
	})
	return l
}

// applyManifest creates every object of the shipped injector.yaml, as
// `kubectl apply -f` would, YAML as is: the API server validates them all.
func (l *lab) applyManifest(t *testing.T) {
	b, err := os.ReadFile("../../configs/kubernetes/injector/injector.yaml")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		"Namespace":                    "/api/v1/namespaces",
		"ServiceAccount":               "/api/v1/namespaces/rotor-injector/serviceaccounts",
		"Deployment":                   "/apis/apps/v1/namespaces/rotor-injector/deployments",
		"Service":                      "/api/v1/namespaces/rotor-injector/services",
		"MutatingWebhookConfiguration": "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
	}
	n := 0
	for _, doc := range bytes.Split(b, []byte("\n---\n")) {
		kind := ""
		for _, line := range strings.Split(string(doc), "\n") {
			if k, ok := strings.CutPrefix(line, "kind: "); ok {
				kind = strings.TrimSpace(k)
				break
			}
		}
		path, ok := paths[kind]
		if !ok {
			t.Fatalf("injector.yaml: an object of kind %q the test does not know", kind)
		}
		r := l.kube.Request(t, http.MethodPost, path, "application/yaml", doc)
		if r.Code != http.StatusCreated {
			t.Fatalf("injector.yaml: the API server refused the %s: %d %s", kind, r.Code, r.Status.Message)
		}
		n++
	}
	if n != len(paths) {
		t.Fatalf("injector.yaml: %d objects, want %d", n, len(paths))
	}
}

// create posts a pod and returns the answer.
func (l *lab) create(t *testing.T, ns string, p map[string]any) kubereal.Result {
	t.Helper()
	return l.kube.Request(t, http.MethodPost, podsPath(ns), "", p)
}

// stored creates a pod, which must be admitted, and returns the pod the
// API server stored (read back with GET).
func (l *lab) stored(t *testing.T, ns string, p map[string]any) (*pod, kubereal.Result) {
	t.Helper()
	r := l.create(t, ns, p)
	if r.Code != http.StatusCreated {
		t.Fatalf("creating the pod: %d %s: %s", r.Code, r.Status.Reason, r.Status.Message)
	}
	name := decodePod(t, r.Body).Metadata.Name
	got := l.kube.Must(t, http.MethodGet, podsPath(ns)+"/"+name, nil, nil)
	return decodePod(t, got.Body), r
}

func podsPath(ns string) string { return "/api/v1/namespaces/" + ns + "/pods" }

// annotatedPod is a pod annotated as for vault-k8s, with extra annotations.
func annotatedPod(name string, extra map[string]string) map[string]any {
	ann := map[string]string{
		"vault.hashicorp.com/agent-inject":            "true",
		"vault.hashicorp.com/role":                    "app",
		"vault.hashicorp.com/agent-inject-secret-foo": "secret/data/foo",
	}
	for k, v := range extra {
		ann[k] = v
	}
	return plainPod(name, ann)
}

// plainPod is a one-container pod with the given annotations.
func plainPod(name string, ann map[string]string) map[string]any {
	meta := map[string]any{"name": name}
	if ann != nil {
		meta["annotations"] = ann
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta,
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "registry.example.com/app:1",
			"command": []string{"/app"}}}}}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		case <-tick.C:
		}
	}
}

// stopInjector stops the webhook's process: the API server can no longer
// reach it.
func (l *lab) stopInjector(t *testing.T) {
	t.Helper()
	if !l.injector.Stop(syscall.SIGTERM, 15*time.Second) {
		t.Error("the injector did not stop within 15s of SIGTERM")
	}
}
