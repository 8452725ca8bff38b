package injector

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// InClusterAt is the in-cluster configuration with the service account's
// token and CA read from saDir (a pod's mount of its service account, such
// as /var/run/secrets/kubernetes.io/serviceaccount).
func InClusterAt(saDir string) (InCluster, error) {
	c, err := InClusterFromEnv()
	if err != nil {
		return c, err
	}
	c.TokenFile, c.CAFile = filepath.Join(saDir, "token"), filepath.Join(saDir, "ca.crt")
	return c, nil
}

// kubeClient is the few calls rotor makes to the API server, with the
// pod's service account token: plain HTTPS and JSON, no client library
// (see docs/architecture.md, Libraries).
type kubeClient struct {
	base, token string
	http        *http.Client
}

// newKubeClient reads the token and the CA once: a restart command is a
// short-lived process.
func newKubeClient(c InCluster) (*kubeClient, error) {
	tok, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("the service account token: %w", err)
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("the API server's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.CAFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	return &kubeClient{base: strings.TrimRight(c.URL, "/"), token: strings.TrimSpace(string(tok)),
		http: &http.Client{Timeout: 10 * time.Second, Transport: tr}}, nil
}

// APIError is an answer of the API server other than 2xx, with the
// message of its Status object (which names the resource and, for 403,
// the user and the verb RBAC refused).
type APIError struct {
	Method, Path string
	Code         int
	Message      string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Code {
	case http.StatusForbidden:
		msg += " (the pod's service account lacks a permission: apply the Role and RoleBinding of configs/kubernetes/injector/restart-rbac.yaml to its namespace)"
	case http.StatusUnauthorized:
		msg += " (the service account token was not accepted)"
	}
	return msg
}

// do sends one request and decodes a 2xx answer's JSON into out (if not
// nil). Bodies are bounded: the objects read are a few KiB.
func (k *kubeClient) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "rotor-injector-restart")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var st struct{ Message string }
		_ = json.Unmarshal(b, &st)
		return &APIError{Method: method, Path: path, Code: resp.StatusCode, Message: st.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// objectMeta is the metadata the restart reads.
type objectMeta struct {
	Name              string     `json:"name"`
	Namespace         string     `json:"namespace"`
	CreationTimestamp time.Time  `json:"creationTimestamp"`
	OwnerReferences   []ownerRef `json:"ownerReferences"`
}

type ownerRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller *bool  `json:"controller"`
}

// controller is the owner reference that manages the object.
func (m objectMeta) controller() *ownerRef {
	for i, r := range m.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			return &m.OwnerReferences[i]
		}
	}
	return nil
}

// Workload is what a rollout restart patches.
type Workload struct {
	Kind, Name, Namespace string
}

func (w Workload) String() string { return strings.ToLower(w.Kind) + "/" + w.Name }

// resource is the workload's URL path under /apis/apps/v1.
func (w Workload) path() string {
	return "/apis/apps/v1/namespaces/" + w.Namespace + "/" + strings.ToLower(w.Kind) + "s/" + w.Name
}

// ErrNoWorkload is wrapped by owner errors: the pod has nothing a rollout
// restart could restart.
var ErrNoWorkload = errors.New("no workload to restart")

// owner finds the workload that manages the pod, the way the controllers
// chain them: Pod -> ReplicaSet -> Deployment, Pod -> StatefulSet, Pod ->
// DaemonSet. It returns the pod's creation time too.
func (k *kubeClient) owner(ctx context.Context, namespace, pod string) (Workload, time.Time, error) {
	var p struct {
		Metadata objectMeta `json:"metadata"`
	}
	if err := k.do(ctx, http.MethodGet, "/api/v1/namespaces/"+namespace+"/pods/"+pod, "", nil, &p); err != nil {
		return Workload{}, time.Time{}, err
	}
	created := p.Metadata.CreationTimestamp
	ref := p.Metadata.controller()
	if ref == nil {
		return Workload{}, created, fmt.Errorf("pod %s/%s has no controller (a bare pod): %w", namespace, pod, ErrNoWorkload)
	}
	switch {
	case ref.Kind == "StatefulSet" || ref.Kind == "DaemonSet":
		return Workload{Kind: ref.Kind, Name: ref.Name, Namespace: namespace}, created, nil
	case ref.Kind == "ReplicaSet":
		var rs struct {
			Metadata objectMeta `json:"metadata"`
		}
		if err := k.do(ctx, http.MethodGet, "/apis/apps/v1/namespaces/"+namespace+"/replicasets/"+ref.Name, "", nil, &rs); err != nil {
			return Workload{}, created, err
		}
		if d := rs.Metadata.controller(); d != nil && d.Kind == "Deployment" {
			return Workload{Kind: "Deployment", Name: d.Name, Namespace: namespace}, created, nil
		}
		return Workload{}, created, fmt.Errorf("pod %s/%s belongs to ReplicaSet %s, which no Deployment manages: %w", namespace, pod, ref.Name, ErrNoWorkload)
	}
	return Workload{}, created, fmt.Errorf("pod %s/%s is managed by %s %s; a rollout restart applies to Deployments, StatefulSets and DaemonSets: %w",
		namespace, pod, ref.Kind, ref.Name, ErrNoWorkload)
}

// restartedAtKey is the pod template annotation `kubectl rollout restart`
// sets.
const restartedAtKey = "kubectl.kubernetes.io/restartedAt"

// restartPatch is the body `kubectl rollout restart` sends: the strategic
// merge patch of the workload with one pod template annotation changed
// (kubectl's objectrestarter sets it to time.Now().Format(time.RFC3339);
// CreateTwoWayMergePatch keeps only that field).
func restartPatch(now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{restartedAtKey: now.Format(time.RFC3339)}}}}})
	return b
}

// restart patches w as `kubectl rollout restart` does, unless a restart
// was requested after since (the pod's creation): that rollout replaces
// the pod already, so a burst of changes seen by several replicas makes one
// restart. It reports whether it patched, and why not.
func (k *kubeClient) restart(ctx context.Context, w Workload, since, now time.Time) (bool, string, error) {
	var obj struct {
		Spec struct {
			Paused   bool `json:"paused"`
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := k.do(ctx, http.MethodGet, w.path(), "", nil, &obj); err != nil {
		return false, "", err
	}
	if obj.Spec.Paused {
		// kubectl refuses too: a paused Deployment does not roll out.
		return false, "", fmt.Errorf("%s is paused: cannot restart it (kubectl rollout resume %s first)", w, w)
	}
	if v := obj.Spec.Template.Metadata.Annotations[restartedAtKey]; v != "" {
		if at, err := time.Parse(time.RFC3339, v); err == nil && at.After(since) {
			return false, fmt.Sprintf("%s was restarted at %s, after this pod was created: that rollout replaces it", w, v), nil
		}
	}
	// fieldManager names rotor in managedFields (kubectl's is
	// kubectl-rollout).
	err := k.do(ctx, http.MethodPatch, w.path()+"?fieldManager=rotor-injector", "application/strategic-merge-patch+json", restartPatch(now), nil)
	if err != nil {
		return false, "", err
	}
	return true, "", nil
}
