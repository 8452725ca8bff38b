package kubereal

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/proc"
)

// Environment variables naming explicit binaries; they win over
// test/kube/bin.
const (
	EnvAPIServerBin = "ROTOR_KUBE_APISERVER_BIN"
	EnvEtcdBin      = "ROTOR_ETCD_BIN"
)

// startTimeout bounds a start: kube-apiserver's first start builds its
// OpenAPI documents and RBAC bootstrap policy, tens of seconds on a busy
// two-core machine.
const startTimeout = 3 * time.Minute

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// URL is https://127.0.0.1:PORT of the API server; CA is the CA whose
	// certificate it serves (CA.PEM is what a client trusts).
	URL string
	CA  *CA
	// Host and Port are the URL's parts, as KUBERNETES_SERVICE_HOST and
	// KUBERNETES_SERVICE_PORT give them to a pod.
	Host, Port string
	// Dir holds the data, certificates, keys and logs.
	Dir string

	adminToken string
	http       *http.Client
	apiserver  *proc.Process
	etcd       *proc.Process
}

// Bins returns the kube-apiserver and etcd binaries, or skips t (fails it
// under ROTOR_REQUIRE_INTEGRATION=1) when they were not built.
func Bins(t testing.TB) (apiserver, etcd string) {
	t.Helper()
	missing := "kubereal: no %s binary: build it with `make kube` (writes test/kube/bin/%s) or set %s"
	apiserver = proc.Find(t, proc.Lookup{Env: EnvAPIServerBin, Paths: []string{"test/kube/bin/kube-apiserver"},
		Missing: fmt.Sprintf(missing, "kube-apiserver", "kube-apiserver", EnvAPIServerBin)})
	etcd = proc.Find(t, proc.Lookup{Env: EnvEtcdBin, Paths: []string{"test/kube/bin/etcd"},
		Missing: fmt.Sprintf(missing, "etcd", "etcd", EnvEtcdBin)})
	return apiserver, etcd
}

// Start starts etcd and kube-apiserver and returns once the API server is
// ready (GET /readyz answers 200: storage, RBAC bootstrap, every post-start
// hook). Both are stopped when the test ends; their logs are printed if
// it failed.
func Start(t testing.TB) *Cluster {
	t.Helper()
	apiserverBin, etcdBin := Bins(t)
	c := &Cluster{Dir: t.TempDir()}
	ca, err := NewCA("kubereal API server CA")
	if err != nil {
		t.Fatal(err)
	}
	c.CA = ca
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	c.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(func() {
		c.http.CloseIdleConnections()
		if t.Failed() {
			t.Logf("kube-apiserver log (last lines):\n%s", proc.Tail(filepath.Join(c.Dir, "kube-apiserver.log"), 40))
			t.Logf("etcd log (last lines):\n%s", proc.Tail(filepath.Join(c.Dir, "etcd.log"), 15))
		}
	})

	etcdURL, err := c.startEtcd(t, etcdBin)
	if err != nil {
		t.Fatalf("kubereal: etcd: %v\n%s", err, proc.Tail(filepath.Join(c.Dir, "etcd.log"), 20))
	}
	if err := c.startAPIServer(t, apiserverBin, etcdURL); err != nil {
		t.Fatalf("kubereal: kube-apiserver: %v\n%s", err, proc.Tail(filepath.Join(c.Dir, "kube-apiserver.log"), 40))
	}
	return c
}

// startEtcd runs a one-member etcd on two loopback ports (retried on a
// port taken meanwhile) and waits for its /health.
func (c *Cluster) startEtcd(t testing.TB, bin string) (string, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		client, err1 := proc.FreePort()
		peer, err2 := proc.FreePort()
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("free ports: %v %v", err1, err2)
		}
		clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
		peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
		p, err := c.spawn(t, bin, "etcd", []string{
			"--name=kubereal", "--data-dir=" + filepath.Join(c.Dir, "etcd"),
			"--listen-client-urls=" + clientURL, "--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=kubereal=" + peerURL,
			// A test's store need not survive a power cut: no fsync
			// keeps a shared disk out of the API server's latency.
			"--unsafe-no-fsync",
		})
		if err != nil {
			return "", err
		}
		ok := func() bool {
			resp, err := http.Get(clientURL + "/health")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}
		if lastErr = c.await(p, "etcd /health", ok); lastErr == nil {
			c.etcd = p
			return clientURL, nil
		}
		p.KillGroup()
		if !c.portTaken("etcd") {
			return "", lastErr
		}
		os.RemoveAll(filepath.Join(c.Dir, "etcd"))
	}
	return "", lastErr
}

// startAPIServer writes the API server's certificate, the admin's token
// and the service account signing key, runs kube-apiserver on a loopback
// port and waits for /readyz.
func (c *Cluster) startAPIServer(t testing.TB, bin, etcdURL string) error {
	certFile, keyFile, err := c.CA.Serving(c.Dir, "apiserver", "kubernetes", "kubernetes.default.svc")
	if err != nil {
		return err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	c.adminToken = "admin-" + hex.EncodeToString(b)
	tokens := filepath.Join(c.Dir, "tokens.csv")
	// token,user,uid,"groups": system:masters is cluster-admin, as kubeadm's admin.conf is.
	if err := os.WriteFile(tokens, []byte(c.adminToken+`,kubereal-admin,kubereal-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	saKey, saPub := filepath.Join(c.Dir, "sa.key"), filepath.Join(c.Dir, "sa.pub")
	if err := newSigningKey(saKey, saPub); err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := proc.FreePort()
		if err != nil {
			return err
		}
		c.Host, c.Port = "127.0.0.1", strconv.Itoa(port)
		c.URL = "https://127.0.0.1:" + c.Port
		p, err := c.spawn(t, bin, "kube-apiserver", []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1", "--secure-port=" + c.Port,
			// The "kubernetes" Service's endpoint would be this address;
			// with no reconciler nothing is published and nothing but
			// loopback is touched.
			"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
			"--cert-dir=" + filepath.Join(c.Dir, "certs"),
			"--tls-cert-file=" + certFile, "--tls-private-key-file=" + keyFile,
			"--token-auth-file=" + tokens,
			"--authorization-mode=RBAC",
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file=" + saPub, "--service-account-signing-key-file=" + saKey,
			"--service-cluster-ip-range=10.96.0.0/16",
			"--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
			"--profiling=false",
		})
		if err != nil {
			return err
		}
		if lastErr = c.await(p, "kube-apiserver /readyz", c.ready); lastErr == nil {
			c.apiserver = p
			return nil
		}
		p.KillGroup()
		if !c.portTaken("kube-apiserver") {
			return lastErr
		}
	}
	return lastErr
}

// portTaken reports whether name's log says it lost its port to another
// process between FreePort and its start: worth another try.
func (c *Cluster) portTaken(name string) bool {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name+".log"))
	return strings.Contains(string(b), "address already in use")
}

// ready reports whether GET /readyz answers 200.
func (c *Cluster) ready() bool {
	code, _, err := c.Do(context.Background(), http.MethodGet, "/readyz", "", nil)
	return err == nil && code == http.StatusOK
}

// spawn starts bin with its output in Dir/name.log; the process group is
// asked to stop (SIGTERM, then killed after 10s) when the test ends.
func (c *Cluster) spawn(t testing.TB, bin, name string, args []string) (*proc.Process, error) {
	logf, err := os.OpenFile(filepath.Join(c.Dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "=== kubereal: %s %s\n", name, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := proc.Start(cmd)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { p.Stop(syscall.SIGTERM, 10*time.Second) })
	return p, nil
}

// await polls ok until it holds, the process exits (a port lost to a race,
// a bad flag) or startTimeout passes.
func (c *Cluster) await(p *proc.Process, what string, ok func() bool) error {
	deadline := time.Now().Add(startTimeout)
	for {
		if ok() {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("exited before %s answered (%v)", what, p.Err())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s", what, startTimeout)
		}
		select {
		case <-p.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}
