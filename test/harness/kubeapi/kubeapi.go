// Package kubeapi is a stand-in for the Kubernetes API server, enough for
// rotor's rollout restart: it serves Pods, ReplicaSets, Deployments,
// StatefulSets and DaemonSets over HTTPS, checks the bearer token as the
// API server does, answers errors with Status objects as the API server
// writes them (401, 403 from RBAC, 404, 415), applies the strategic merge
// patch of a pod template annotation, and records every request.
package kubeapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request the server answered.
type Request struct {
	Method, Path, Query, ContentType string
	Body                             string
	Authorized                       bool
}

// Server is the fake API server. Its objects are JSON objects by path
// (/api/v1/namespaces/NS/pods/NAME, /apis/apps/v1/namespaces/NS/KIND/NAME).
type Server struct {
	// URL is https://127.0.0.1:PORT; CACert is the PEM a client trusts.
	URL    string
	CACert []byte
	// Token is the service account token the server accepts; User is
	// the user it stands for in RBAC messages.
	Token, User string

	srv *httptest.Server

	mu       sync.Mutex
	objects  map[string]map[string]any
	denied   map[string]bool // "verb resource"
	requests []Request
}

// Start starts a server closed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	s := &Server{Token: "sa-" + hex.EncodeToString(b), User: "system:serviceaccount:apps:app",
		objects: map[string]map[string]any{}, denied: map[string]bool{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	s.CACert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	return s
}

// Env is what the kubelet sets in every container to find the API server.
func (s *Server) Env() []string {
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(s.URL, "https://"))
	return []string{"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port}
}

// SetToken makes token the one service account token accepted (such as
// one vaulttest.FakeKube minted, so that one token serves both).
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Token = token
}

// WriteServiceAccount writes dir/token, dir/ca.crt and dir/namespace, as
// the kubelet mounts a pod's service account.
func (s *Server) WriteServiceAccount(t testing.TB, dir, namespace string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	tok := s.Token
	s.mu.Unlock()
	for name, v := range map[string][]byte{"token": []byte(tok), "ca.crt": s.CACert, "namespace": []byte(namespace)} {
		if err := os.WriteFile(filepath.Join(dir, name), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Deny makes RBAC refuse verb ("get", "patch") on resource ("pods",
// "replicasets", "deployments", ...).
func (s *Server) Deny(verb, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[verb+" "+resource] = true
}

// Allow undoes Deny.
func (s *Server) Allow(verb, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, verb+" "+resource)
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Patches returns the PATCH requests answered so far.
func (s *Server) Patches() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == http.MethodPatch {
			out = append(out, r)
		}
	}
	return out
}

// Object returns a copy of the object at path (nil if none).
func (s *Server) Object(path string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[path]
	if !ok {
		return nil
	}
	b, _ := json.Marshal(o)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

// Add stores an object of kind ("Pod", "ReplicaSet", "Deployment",
// "StatefulSet", "DaemonSet") in namespace ns, created at created, and
// returns its path. owner is "Kind/name" of its controller, or "".
func (s *Server) Add(kind, ns, name, owner string, created time.Time) string {
	meta := map[string]any{"name": name, "namespace": ns, "creationTimestamp": created.UTC().Format(time.RFC3339),
		"uid": name + "-uid"}
	if owner != "" {
		k, n, _ := strings.Cut(owner, "/")
		api := "apps/v1"
		meta["ownerReferences"] = []any{map[string]any{"apiVersion": api, "kind": k, "name": n, "uid": n + "-uid",
			"controller": true, "blockOwnerDeletion": true}}
	}
	obj := map[string]any{"kind": kind, "metadata": meta}
	var path string
	if kind == "Pod" {
		obj["apiVersion"] = "v1"
		obj["spec"] = map[string]any{"containers": []any{map[string]any{"name": "app", "image": "app"}}}
		path = "/api/v1/namespaces/" + ns + "/pods/" + name
	} else {
		obj["apiVersion"] = "apps/v1"
		obj["spec"] = map[string]any{"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}}}}
		path = "/apis/apps/v1/namespaces/" + ns + "/" + strings.ToLower(kind) + "s/" + name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[path] = obj
	return path
}

// Set changes one field of a stored object, by a path of keys.
func (s *Server) Set(path string, value any, keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.objects[path]
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = value
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	defer s.mu.Unlock()
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"),
		Body: string(body), Authorized: r.Header.Get("Authorization") == "Bearer "+s.Token}
	s.requests = append(s.requests, req)
	if !req.Authorized {
		status(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	group, ns, resource, name, ok := parsePath(r.URL.Path)
	if !ok {
		status(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
		return
	}
	verb := map[string]string{http.MethodGet: "get", http.MethodPatch: "patch"}[r.Method]
	if verb == "" {
		status(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
		return
	}
	qualified := resource
	if group != "" {
		qualified += "." + group
	}
	if s.denied[verb+" "+resource] {
		// The message RBAC's authorizer gives (k8s.io/apiserver's
		// forbidden()).
		status(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("%s %q is forbidden: User %q cannot %s resource %q in API group %q in the namespace %q",
			qualified, name, s.User, verb, resource, group, ns))
		return
	}
	obj, ok := s.objects[r.URL.Path]
	if !ok {
		status(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", qualified, name))
		return
	}
	if r.Method == http.MethodPatch {
		switch req.ContentType {
		case "application/strategic-merge-patch+json", "application/merge-patch+json":
		default:
			status(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json")
			return
		}
		var patch map[string]any
		if err := json.Unmarshal(body, &patch); err != nil {
			status(w, http.StatusBadRequest, "BadRequest", "error decoding patch: "+err.Error())
			return
		}
		// For maps of scalars, as a pod template's annotations, a
		// strategic merge patch merges as a JSON merge patch does.
		merge(obj, patch)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(obj)
}

// parsePath splits /api/v1/namespaces/NS/RES/NAME and
// /apis/GROUP/VERSION/namespaces/NS/RES/NAME.
func parsePath(p string) (group, ns, resource, name string, ok bool) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case len(parts) == 6 && parts[0] == "api" && parts[2] == "namespaces":
		return "", parts[3], parts[4], parts[5], true
	case len(parts) == 7 && parts[0] == "apis" && parts[3] == "namespaces":
		return parts[1], parts[4], parts[5], parts[6], true
	}
	return "", "", "", "", false
}

func merge(dst, patch map[string]any) {
	for k, v := range patch {
		pm, isMap := v.(map[string]any)
		dm, dIsMap := dst[k].(map[string]any)
		switch {
		case v == nil:
			delete(dst, k)
		case isMap && dIsMap:
			merge(dm, pm)
		default:
			dst[k] = v
		}
	}
}

// status writes a metav1.Status as the API server does.
func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code})
}
