package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/internal/redact"
)

// ociFixture is an API key and the two ways to name it: a config file
// (DEFAULT profile, via OCI_CONFIG_FILE) and the OCI_* variables.
type ociFixture struct {
	key             *rsa.PrivateKey
	keyFile         string
	configFile      string
	fileEnv, envEnv []string
}

func newOCIFixture(t *testing.T, encrypted bool) ociFixture {
	t.Helper()
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	passLine := ""
	if encrypted {
		//lint:ignore SA1019 OCI key files use legacy PEM encryption
		if block, err = x509.EncryptPEMBlock(rand.Reader, block.Type, block.Bytes, []byte("pem-pass"), x509.PEMCipherAES256); err != nil {
			t.Fatal(err)
		}
		passLine = "pass_phrase = pem-pass\n"
	}
	f := ociFixture{key: key, keyFile: writeTestFile(t, dir, "key.pem", string(pem.EncodeToMemory(block)))}
	f.configFile = writeTestFile(t, dir, "config", fmt.Sprintf("[OTHER]\nuser = ocid1.user.oc1..other\n\n[DEFAULT]\nuser = ocid1.user.oc1..aaaa\nfingerprint = 11:22:33:44\n"+
		"tenancy = ocid1.tenancy.oc1..bbbb\nregion = us-ashburn-1\nkey_file = %s\n%s", f.keyFile, passLine))
	f.fileEnv = []string{"OCI_CONFIG_FILE=" + f.configFile}
	f.envEnv = []string{"OCI_tenancy_ocid=ocid1.tenancy.oc1..env", "OCI_user_ocid=ocid1.user.oc1..env", "OCI_fingerprint=aa:bb", "OCI_private_key_path=" + f.keyFile}
	return f
}

func envFunc(env []string) func(string) (string, bool) {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// rotor's oci login is Vault Agent's, byte for byte: the same path and
// request_headers, including the signature (RSA PKCS#1 v1.5 is
// deterministic) once rotor signs at Vault Agent's Date. Each signature
// also verifies with the public key over OCI's signing string, so the two
// agree on something correct.
func TestOCIMatchesVaultAgent(t *testing.T) {
	rec := newRecorder(t)
	plain, enc := newOCIFixture(t, false), newOCIFixture(t, true)
	home := filepath.Join(t.TempDir(), "home") // no ~/.oci/config in it
	cases := []struct {
		name  string
		f     ociFixture
		env   []string
		keyID string
	}{
		{"config file", plain, plain.fileEnv, "ocid1.tenancy.oc1..bbbb/ocid1.user.oc1..aaaa/11:22:33:44"},
		{"config file, encrypted key", enc, enc.fileEnv, "ocid1.tenancy.oc1..bbbb/ocid1.user.oc1..aaaa/11:22:33:44"},
		{"environment", plain, plain.envEnv, "ocid1.tenancy.oc1..env/ocid1.user.oc1..env/aa:bb"},
		{"environment wins", plain, append(plain.envEnv, plain.fileEnv...), "ocid1.tenancy.oc1..env/ocid1.user.oc1..env/aa:bb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, mount := range []string{"auth/oci", "auth/oci-prod"} {
				va := vaultAgentLogin(t, c.env, "oci", map[string]any{"type": "apikey", "role": "web"}, mount, rec.URL)
				vh := headersOf(t, va.Body["request_headers"])
				date, err := http.ParseTime(vh.Get("Date"))
				if err != nil {
					t.Fatalf("Vault Agent's Date: %v", err)
				}
				m, err := newOCI(mount, OCIOptions{Type: "apikey", Role: "web"})
				if err != nil {
					t.Fatal(err)
				}
				om := m.(*oci)
				om.creds = ociCreds{env: envFunc(c.env), home: func() string { return home }}
				om.now = func() time.Time { return date }
				ro := rec.login(t, m)
				rh := headersOf(t, ro.Body["request_headers"])
				if ro.Path != va.Path || ro.Path != mount+"/login/web" || !reflect.DeepEqual(rh, vh) || len(ro.Body) != 1 {
					t.Fatalf("rotor sent %s %v\nVault Agent %s %v", ro.Path, rh, va.Path, vh)
				}
				checkOCISignature(t, rh, &c.f.key.PublicKey, c.keyID, rec.URL, "/v1/"+mount+"/login/web")
			}
		})
	}
}

func headersOf(t *testing.T, v any) http.Header {
	t.Helper()
	raw, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("request_headers is %T", v)
	}
	h := http.Header{}
	for k, vs := range raw {
		for _, x := range vs.([]any) {
			h[k] = append(h[k], x.(string))
		}
	}
	return h
}

var ociAuthz = regexp.MustCompile(`^Signature version="1",headers="date \(request-target\) host",keyId="([^"]*)",algorithm="rsa-sha256",signature="([^"]*)"$`)

// checkOCISignature verifies the Authorization header as OCI's identity
// service would: the signing string rebuilt from the headers it names.
func checkOCISignature(t *testing.T, h http.Header, pub *rsa.PublicKey, keyID, addr, path string) {
	t.Helper()
	m := ociAuthz.FindStringSubmatch(h.Get("Authorization"))
	if m == nil {
		t.Fatalf("Authorization %q", h.Get("Authorization"))
	}
	if m[1] != keyID {
		t.Fatalf("keyId %q, want %q", m[1], keyID)
	}
	u, _ := url.Parse(addr)
	if h.Get("Host") != u.Host || h["(request-target)"][0] != "get "+path {
		t.Fatalf("Host %q, (request-target) %q", h.Get("Host"), h["(request-target)"])
	}
	sig, err := base64.StdEncoding.DecodeString(m[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("date: " + h.Get("Date") + "\n(request-target): get " + path + "\nhost: " + u.Host))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("the signature does not verify: %v", err)
	}
}

// Without credentials the login fails before sending anything, saying
// where it looked; "instance" and unknown types are refused.
func TestOCIErrors(t *testing.T) {
	m, _ := newOCI("auth/oci", OCIOptions{Type: "apikey", Role: "r"})
	om := m.(*oci)
	om.creds = ociCreds{env: envFunc(nil), home: func() string { return t.TempDir() }}
	_, err := om.signedHeaders(t.Context(), "http://127.0.0.1:8200")
	if err == nil || !containsAll(err.Error(), "OCI_private_key_path is not set", ".oci/config", ".oraclebmc/config") {
		t.Fatalf("got %v", err)
	}
	for _, typ := range []string{"instance", "resource"} {
		if _, err := newOCI("auth/oci", OCIOptions{Type: typ, Role: "r"}); err == nil {
			t.Fatalf("type %q accepted", typ)
		}
	}
}

// A session token (security_token_file), sent in the keyId, is a login
// credential: hidden from the error even when Vault's answer quotes the
// request, and in Credentials.
func TestOCISessionTokenIsRedacted(t *testing.T) {
	dir := t.TempDir()
	f := newOCIFixture(t, false)
	const tok = "oci-session-token-0123456789-abcdef-SECRET"
	cfg := writeTestFile(t, dir, "config", fmt.Sprintf("[DEFAULT]\ntenancy = t\nfingerprint = f\nsecurity_token_file = %s\nkey_file = %s\n",
		writeTestFile(t, dir, "token", tok), f.keyFile))
	m, err := newOCI("auth/oci", OCIOptions{Type: "apikey", Role: "r"})
	if err != nil {
		t.Fatal(err)
	}
	m.(*oci).creds = ociCreds{env: envFunc([]string{"OCI_CONFIG_FILE=" + cfg}), home: func() string { return filepath.Join(dir, "home") }}
	l, text := failedLogin(t, m, echoVault(t), true)
	if !strings.Contains(text, "bad request") || !strings.Contains(text, "ST$") {
		t.Fatalf("Vault's answer quoting the request is not shown: %s", text)
	}
	if strings.Contains(text, tok[:redact.Window]) {
		t.Fatalf("the session token shows: %s", text)
	}
	if !slices.Contains(slices.Collect(l.Credentials()), tok) {
		t.Error("Credentials() lacks the session token")
	}
}
