package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// proxyAgent starts rotor with a database template and a listener whose
// API proxy adds rotor's token, and waits until the template is rendered.
func proxyAgent(t *testing.T, d *dbSetup, vaultAddr string) (base, dest string, p *started) {
	t.Helper()
	addr := freeAddr(t)
	dest = filepath.Join(d.dir, "db-user")
	cfg := d.config(t, fmt.Sprintf(`
template {
  contents    = %q
  destination = %q
}
cache {}
api_proxy { use_auto_auth_token = true }
listener "tcp" {
  address     = %q
  tls_disable = true
}
`, dbUserTpl, dest, addr))
	if vaultAddr != "" {
		b, _ := os.ReadFile(cfg)
		os.WriteFile(cfg, []byte(strings.Replace(string(b), d.srv.Addr, vaultAddr, 1)), 0o600)
	}
	p = start(t, "agent", "-config", cfg)
	vaulttest.Eventually(t, 60*time.Second, func() error {
		if b, err := os.ReadFile(dest); err != nil || len(b) == 0 {
			return fmt.Errorf("template not rendered yet")
		}
		return nil
	})
	return "http://" + addr, dest, p
}

// accessor is rotor's token accessor from its status endpoint.
func accessor(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/agent/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Token struct {
			Accessor string `json:"accessor"`
		} `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	return st.Token.Accessor
}

// A storm of requests that Vault refuses with rotor's token (a null token
// to auth/token/renew is "invalid token" before any policy check) does
// not make rotor log in again: before, 20 requests left 21 live database
// users, and a secret_id with two uses locked rotor out.
func TestProxyStormDoesNotMakeRotorLogIn(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	// The role's secret IDs allow two logins: one spare.
	if _, err := d.root.Logical().Write("auth/approle/role/app", map[string]any{"secret_id_num_uses": 2, "token_policies": "default,app"}); err != nil {
		t.Fatal(err)
	}
	sec, err := d.root.Logical().Write("auth/approle/role/app/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(d.dir, "secret_id"), []byte(sec.Data["secret_id"].(string)), 0o600)
	base, dest, p := proxyAgent(t, d, "")
	before := accessor(t, base)
	user, _ := os.ReadFile(dest)
	for i := range 20 {
		req, _ := http.NewRequest("PUT", base+"/v1/auth/token/renew", strings.NewReader(`{"token": null}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("request %d: %d, want Vault's 403", i, resp.StatusCode)
		}
	}
	// Each hint was checked before its answer went back; give a login
	// that should not happen the time it would take.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if n := strings.Count(p.out.String(), "msg=authenticated"); n != 1 {
			t.Fatalf("rotor logged in %d times after a 403 storm, want once", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := accessor(t, base); a != before {
		t.Fatalf("rotor's token changed: %s -> %s", before, a)
	}
	if u := d.users(t); len(u) != 1 {
		t.Fatalf("%d database users after the storm, want 1: %v", len(u), u)
	}
	if now, _ := os.ReadFile(dest); string(now) != string(user) {
		t.Fatal("the rendered credentials changed")
	}
}

// When rotor's token dies anyway (revoked by an operator), the next
// proxied request that Vault refuses makes rotor check it, log in again
// within seconds and render new credentials that work.
func TestRotorNoticesItsTokenRevoked(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	base, dest, _ := proxyAgent(t, d, "")
	before := accessor(t, base)
	oldUser, _ := os.ReadFile(dest)
	if err := d.root.Auth().Token().RevokeAccessor(before); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.Get(base + "/v1/auth/token/lookup-self")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("lookup-self with the revoked token: %d", resp.StatusCode)
	}
	vaulttest.Eventually(t, 15*time.Second, func() error {
		if a := accessor(t, base); a == before || a == "" {
			return fmt.Errorf("still the revoked token")
		}
		if u, _ := os.ReadFile(dest); string(u) == string(oldUser) || len(u) == 0 {
			return fmt.Errorf("credentials not re-fetched yet")
		}
		return nil
	})
	t.Logf("new token and credentials %v after the revocation", time.Since(start).Round(time.Millisecond))
	resp, err = http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz after the new login: %d", resp.StatusCode)
	}
}

// slowVault reads upload bodies slowly (a Vault under load) and forwards
// everything else to the real one.
func slowVault(t *testing.T, vault string) string {
	u, _ := url.Parse(vault)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/secret/data/upload") {
			rp.ServeHTTP(w, r)
			return
		}
		buf := make([]byte, 256<<10)
		for {
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				break
			}
			time.Sleep(5 * time.Millisecond) // the point: a slow reader
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"data":{}}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Eight concurrent 32 MiB uploads to a slow Vault keep rotor within the
// shipped sidecar limit (64 Mi): bodies too big to cache stream through.
// Before, rotor read each whole and reached 551 MB.
func TestHostileUploadsStayWithinTheSidecarLimit(t *testing.T) {
	d := newDBSetup(t, "1h", "24h", "")
	base, _, p := proxyAgent(t, d, slowVault(t, d.srv.Addr))
	body := strings.Repeat("x", 32<<20-1024)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(base+"/v1/secret/data/upload", "application/json", strings.NewReader(body))
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	hwm := peakRSS(t, p.cmd.Process.Pid)
	t.Logf("rotor's peak RSS after 8 concurrent 32 MiB uploads: %d MiB; answers %v", hwm>>20, codes)
	if hwm > 64<<20 {
		t.Fatalf("rotor's peak RSS %d MiB is past the 64 Mi sidecar limit", hwm>>20)
	}
	for i, c := range codes {
		if c != 200 {
			t.Errorf("upload %d: %d", i, c)
		}
	}
}

// peakRSS reads a process's high-water resident memory (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for l := range strings.Lines(string(b)) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// rotor lends neither its API proxy nor its TLS identity by accident:
// without api_proxy or cache a listener serves no /v1/; with them,
// auth/cert/login through the listener is not logged in as rotor unless
// use_client_cert says so.
func TestListenerDoesNotLendRotorsIdentity(t *testing.T) {
	srv := vaulttest.Start(t, vaulttest.WithTLS())
	root := srv.Client(t)
	ca, client := vaulttest.NewClientCert(t, "rotor.example")
	vaulttest.SetupCert(t, root, "cert", "agents", ca.CertPEM, "30m")
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "token")
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tokFile, []byte(tok.Auth.ClientToken), 0o600)
	run := func(proxy string) string {
		addr := freeAddr(t)
		cfg := filepath.Join(dir, fmt.Sprintf("rotor-%d.hcl", time.Now().UnixNano()))
		os.WriteFile(cfg, []byte(fmt.Sprintf(`
vault {
  address     = %q
  ca_cert     = %q
  client_cert = %q
  client_key  = %q
}
auto_auth {
  method "token_file" { config = { token_file_path = %q } }
  sink "file" { config = { path = %q } }
}
listener "tcp" {
  address     = %q
  tls_disable = true
}
%s
`, srv.Addr, srv.CACert, client.CertFile, client.KeyFile, tokFile, filepath.Join(dir, "sink"), addr, proxy)), 0o600)
		start(t, "agent", "-config", cfg)
		base := "http://" + addr
		vaulttest.Eventually(t, 30*time.Second, func() error {
			resp, err := http.Get(base + "/healthz")
			if err != nil {
				return err
			}
			resp.Body.Close()
			return nil
		})
		return base
	}
	login := func(base string) (int, string) {
		resp, err := http.Post(base+"/v1/auth/cert/login", "application/json", strings.NewReader(`{"name":"agents"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	resp, err := http.Get(run("") + "/v1/sys/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("a listener without api_proxy or cache proxied /v1/: %d", resp.StatusCode)
	}
	if code, b := login(run("api_proxy {}")); code == 200 || strings.Contains(b, "client_token") {
		t.Fatalf("a cert login through the proxy was made with rotor's certificate: %d %s", code, b)
	}
	if code, b := login(run("api_proxy { use_client_cert = true }")); code != 200 {
		t.Fatalf("use_client_cert = true lends the certificate on purpose: %d %s", code, b)
	}
}
