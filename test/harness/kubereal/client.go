package kubereal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// Do sends one request to the API server as the admin and returns the
// status code and the body (at most 16 MiB). Warnings the API server
// returns (admission webhooks' among them) are in DoFull's header.
func (c *Cluster) Do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	code, b, _, err := c.DoFull(ctx, method, path, contentType, body)
	return code, b, err
}

// DoFull is Do with the response's header.
func (c *Cluster) DoFull(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.adminToken)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, b, resp.Header, err
}

// Status is the API server's error object: what a refused request says.
type Status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Result is one answer: the status code, the body, the Warning headers and,
// for an error, the Status object.
type Result struct {
	Code     int
	Body     []byte
	Warnings []string
	Status   Status
}

// Request sends in (JSON-encoded unless it is []byte, sent as is with
// contentType) and returns the answer; only a transport error fails t.
func (c *Cluster) Request(t testing.TB, method, path, contentType string, in any) Result {
	t.Helper()
	var body []byte
	switch v := in.(type) {
	case nil:
	case []byte:
		body = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		body = b
		if contentType == "" {
			contentType = "application/json"
		}
	}
	code, b, h, err := c.DoFull(context.Background(), method, path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	r := Result{Code: code, Body: b, Warnings: h.Values("Warning")}
	if code/100 != 2 {
		_ = json.Unmarshal(b, &r.Status)
	}
	return r
}

// Must is Request that fails t unless the answer is 2xx, and decodes it
// into out (when not nil).
func (c *Cluster) Must(t testing.TB, method, path string, in, out any) Result {
	t.Helper()
	r := c.Request(t, method, path, "", in)
	if r.Code/100 != 2 {
		t.Fatalf("%s %s: %d %s: %s", method, path, r.Code, r.Status.Reason, r.Status.Message)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return r
}

// Version is GET /version: what a client of the API server learns of it.
type Version struct {
	Major, Minor, GitVersion string
}

// Version asks the API server its version.
func (c *Cluster) Version(t testing.TB) Version {
	t.Helper()
	var v Version
	c.Must(t, http.MethodGet, "/version", nil, &v)
	return v
}

// CreateNamespace creates namespace name (unless it exists, as
// kube-system does) and its "default" service account, which the
// controller manager would make and the ServiceAccount admission plugin
// requires of every pod.
func (c *Cluster) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	ns := map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
	if r := c.Request(t, http.MethodPost, "/api/v1/namespaces", "", ns); r.Code/100 != 2 && r.Code != http.StatusConflict {
		t.Fatalf("namespace %s: %d %s", name, r.Code, r.Status.Message)
	}
	c.CreateServiceAccount(t, name, "default")
}

// CreateServiceAccount creates a service account (unless it exists).
func (c *Cluster) CreateServiceAccount(t testing.TB, namespace, name string) {
	t.Helper()
	sa := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": map[string]any{"name": name}}
	if r := c.Request(t, http.MethodPost, "/api/v1/namespaces/"+url.PathEscape(namespace)+"/serviceaccounts", "", sa); r.Code/100 != 2 && r.Code != http.StatusConflict {
		t.Fatalf("service account %s/%s: %d %s", namespace, name, r.Code, r.Status.Message)
	}
}

// ServiceAccountToken is a token the API server signs for the service
// account (TokenRequest, as the kubelet asks one for a pod's projected
// volume), valid for an hour.
func (c *Cluster) ServiceAccountToken(t testing.TB, namespace, name string) string {
	t.Helper()
	req := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"expirationSeconds": 3600}}
	var out struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	c.Must(t, http.MethodPost, "/api/v1/namespaces/"+url.PathEscape(namespace)+"/serviceaccounts/"+url.PathEscape(name)+"/token", req, &out)
	if out.Status.Token == "" {
		t.Fatalf("TokenRequest for %s/%s returned no token", namespace, name)
	}
	return out.Status.Token
}
