package injector

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is an in-memory CA issuing serving certificates for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a serving certificate with the given serial to dir.
func (ca *testCA) issue(t *testing.T, dir string, serial int64) (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "rotor-injector"},
		DNSNames: []string{"rotor-injector.rotor.svc"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	// Write the key first, then the certificate, each atomically, as a
	// Secret volume update appears; a distinct mtime marks the change.
	stamp := time.Now().Add(time.Duration(serial) * time.Second)
	for _, f := range []struct {
		name string
		pem  *pem.Block
	}{{keyFile, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}}, {certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der}}} {
		tmp := f.name + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(f.pem), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(tmp, stamp, stamp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.name); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// startWebhook runs the webhook on 127.0.0.1 with a certificate from ca;
// it stops when the test ends.
func startWebhook(t *testing.T, ca *testCA, o HandlerOptions) (url, dir string, client *http.Client) {
	dir = t.TempDir()
	certFile, keyFile := ca.issue(t, dir, 2)
	certs, err := NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer("127.0.0.1:0", certs, NewHandler(o), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: "rotor-injector.rotor.svc"}, DisableKeepAlives: true}}
	return "https://" + srv.Addr().String(), dir, client
}

// review posts an AdmissionReview v1 for the pod, as the API server does.
func review(t *testing.T, client *http.Client, url, namespace string, podJSON []byte) admissionResponse {
	t.Helper()
	body := map[string]any{
		"apiVersion": "admission.k8s.io/v1",
		"kind":       "AdmissionReview",
		"request": map[string]any{
			"uid":       "705ab4f5-6393-11e8-b7cc-42010a800002",
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"namespace": namespace,
			"operation": "CREATE",
			"userInfo":  map[string]any{"username": "system:serviceaccount:kube-system:replicaset-controller"},
			"object":    json.RawMessage(podJSON),
			"dryRun":    false,
		},
	}
	b, _ := json.Marshal(body)
	resp, err := client.Post(url+"/mutate", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	var out struct {
		APIVersion, Kind string
		Response         admissionResponse
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" || out.Response.UID != "705ab4f5-6393-11e8-b7cc-42010a800002" {
		t.Fatalf("response envelope %s %s uid %q", out.APIVersion, out.Kind, out.Response.UID)
	}
	return out.Response
}

func podJSON(t *testing.T, file string) []byte {
	in, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := decodeDocuments(in)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(docs[0])
	return b
}

// TestWebhookHTTPS sends real AdmissionReview v1 requests over TLS, applies
// the returned JSON patch to the pod and checks the result, then sends the
// mutated pod again (never twice), a pod in kube-system, and a pod whose
// annotations are wrong, with the handler failing closed and open.
func TestWebhookHTTPS(t *testing.T) {
	ca := newTestCA(t)
	url, _, client := startWebhook(t, ca, HandlerOptions{Options: DefaultOptions()})
	pj := podJSON(t, "testdata/pod.yaml")

	resp := review(t, client, url, "orders", pj)
	if !resp.Allowed || resp.PatchType != "JSONPatch" || len(resp.Patch) == 0 {
		t.Fatalf("response %+v", resp)
	}
	if len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "agent-inject-frobnicate: unknown annotation") {
		t.Errorf("warnings %q", resp.Warnings)
	}
	var patch Patch
	if err := json.Unmarshal(resp.Patch, &patch); err != nil {
		t.Fatalf("patch is not a JSON patch: %v", err)
	}
	var doc any
	json.Unmarshal(pj, &doc)
	mutated, err := patch.Apply(doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodePod(mutated, "")
	if err != nil {
		t.Fatal(err)
	}
	if !p.hasContainer(sidecarName) || p.Metadata.Annotations[annStatus] != "injected" {
		t.Fatalf("mutated pod lacks the sidecar or the status: %+v", p)
	}
	// The same bytes render offline gives.
	offline, err := Render(pj, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(mutated)
	b, _ := json.Marshal(offline[0].Object)
	if !bytes.Equal(a, b) {
		t.Errorf("webhook and render disagree:\n%s\n%s", a, b)
	}

	mb, _ := json.Marshal(mutated)
	if again := review(t, client, url, "orders", mb); !again.Allowed || len(again.Patch) != 0 {
		t.Errorf("an injected pod was mutated again: %+v", again)
	}
	if sys := review(t, client, url, "kube-system", pj); !sys.Allowed || len(sys.Patch) != 0 {
		t.Errorf("a kube-system pod was mutated: %+v", sys)
	}

	bad := bytes.Replace(pj, []byte(`"vault.hashicorp.com/role":"orders-api"`), []byte(`"vault.hashicorp.com/agent-pre-populate":"maybe"`), 1)
	denied := review(t, client, url, "orders", bad)
	if denied.Allowed || denied.Result == nil || !strings.Contains(denied.Result.Message, "agent-pre-populate") {
		t.Errorf("a pod with bad annotations was not refused: %+v", denied)
	}

	openURL, _, openClient := startWebhook(t, ca, HandlerOptions{Options: DefaultOptions(), FailOpen: true})
	admitted := review(t, openClient, openURL, "orders", bad)
	if !admitted.Allowed || len(admitted.Patch) != 0 || !strings.Contains(strings.Join(admitted.Warnings, "\n"), "admitted without rotor") {
		t.Errorf("fail-open: %+v", admitted)
	}
}

// TestWebhookCertificateRotation replaces the serving certificate on disk
// and checks that the next TLS connection presents the new one.
func TestWebhookCertificateRotation(t *testing.T) {
	ca := newTestCA(t)
	url, dir, client := startWebhook(t, ca, HandlerOptions{Options: DefaultOptions()})
	serial := func() int64 {
		resp, err := client.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if s := serial(); s != 2 {
		t.Fatalf("serial %d, want 2", s)
	}
	ca.issue(t, dir, 3)
	if s := serial(); s != 3 {
		t.Errorf("after rotation serial %d, want 3", s)
	}
	// A broken pair keeps the last good certificate.
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := serial(); s != 3 {
		t.Errorf("after a broken write serial %d, want 3 (kept)", s)
	}
}
