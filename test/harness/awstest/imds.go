package awstest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// IMDS is a fake EC2 instance metadata service for one instance. It
// serves IMDSv2 (a session token from PUT /latest/api/token, required on
// every GET unless OnlyV1), the instance identity document with its RSA
// SHA-256 signature (/latest/dynamic/instance-identity/document and
// /signature, as Vault Agent's ec2 login reads them) and the instance
// profile's role credentials, which the FakeAWS it belongs to accepts.
type IMDS struct {
	// URL is the endpoint, for AWS_EC2_METADATA_SERVICE_ENDPOINT.
	URL string
	// Instance is the instance served.
	Instance Instance
	// CertificatePEM is the certificate that verifies the identity
	// document's signature: register it in Vault's aws auth method with
	// type "identity" (SetupVaultAWSAuth does), as an operator does in an
	// AWS region whose certificate Vault does not ship.
	CertificatePEM string

	f   *FakeAWS
	key *rsa.PrivateKey

	mu sync.Mutex
	// v1 lets GETs without a token through (an instance that still allows
	// IMDSv1); noV2 makes the token PUT answer 404, as an IMDSv1-only
	// emulator does.
	v1, noV2 bool
	tokens   map[string]bool
	requests []string
	creds    *xmlCredentials
}

// StartIMDS starts a fake instance metadata service for in and registers
// in for DescribeInstances. It is closed when the test ends.
func (f *FakeAWS) StartIMDS(t testing.TB, in Instance) *IMDS {
	t.Helper()
	in = in.withDefaults()
	f.AddInstance(in)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "awstest EC2 identity"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	m := &IMDS{Instance: in, f: f, key: key, tokens: map[string]bool{},
		CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	srv := httptest.NewServer(http.HandlerFunc(m.serveHTTP))
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// OnlyV1 makes the endpoint an IMDSv1-only emulator: the token request
// answers 404 and reads need no token.
func (m *IMDS) OnlyV1() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.v1, m.noV2 = true, true
}

// Requests returns "METHOD path" of every request so far; a GET made
// with an IMDSv2 token is marked " (token)".
func (m *IMDS) Requests() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.requests...)
}

// Document returns the instance identity document, as served.
func (m *IMDS) Document() []byte {
	doc, _ := json.MarshalIndent(map[string]any{
		"accountId": AccountID, "architecture": "x86_64", "availabilityZone": m.Instance.Region + "a",
		"imageId": m.Instance.ImageID, "instanceId": m.Instance.ID, "instanceType": "t3.micro",
		"pendingTime": m.Instance.PendingTime.Format(time.RFC3339), "privateIp": "10.0.0.1",
		"region": m.Instance.Region, "version": "2017-09-30",
	}, "", "  ")
	return doc
}

func (m *IMDS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tok := r.Header.Get("X-Aws-Ec2-Metadata-Token")
	rec := r.Method + " " + r.URL.Path
	if tok != "" {
		rec += " (token)"
	}
	m.requests = append(m.requests, rec)
	if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
		ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		switch {
		case m.noV2:
			http.NotFound(w, r)
		case err != nil || ttl < 1 || ttl > 21600:
			http.Error(w, "bad X-aws-ec2-metadata-token-ttl-seconds", http.StatusBadRequest)
		default:
			t := base64.StdEncoding.EncodeToString([]byte(randID("", 32)))
			m.tokens[t] = true
			_, _ = w.Write([]byte(t))
		}
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !m.tokens[tok] && !(tok == "" && m.v1) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	const creds = "/latest/meta-data/iam/security-credentials/"
	switch p := r.URL.Path; {
	case p == "/latest/dynamic/instance-identity/document":
		_, _ = w.Write(m.Document())
	case p == "/latest/dynamic/instance-identity/signature":
		sum := sha256.Sum256(m.Document())
		sig, _ := rsa.SignPKCS1v15(rand.Reader, m.key, crypto.SHA256, sum[:])
		_, _ = w.Write([]byte(wrap64(base64.StdEncoding.EncodeToString(sig))))
	case p == creds && m.Instance.Role != "":
		_, _ = w.Write([]byte(m.Instance.Role))
	case p == creds+url.PathEscape(m.Instance.Role) && m.Instance.Role != "":
		m.serveCredentials(w)
	default:
		http.NotFound(w, r)
	}
}

// serveCredentials serves the role's credentials, issued once (as IMDS
// keeps them for hours) and accepted by the FakeAWS.
func (m *IMDS) serveCredentials(w http.ResponseWriter) {
	if m.creds == nil {
		arn, userID, _ := assumedRole(RoleARN(m.Instance.Role), m.Instance.ID)
		m.f.mu.Lock()
		c, _ := m.f.issue("InstanceProfile", RoleARN(m.Instance.Role), m.Instance.ID, url.Values{"DurationSeconds": {"21600"}}, arn, userID)
		m.f.mu.Unlock()
		m.creds = &c
	}
	_ = json.NewEncoder(w).Encode(map[string]string{
		"Code": "Success", "LastUpdated": isoTime(time.Now()), "Type": "AWS-HMAC",
		"AccessKeyId": m.creds.AccessKeyID, "SecretAccessKey": m.creds.SecretAccessKey,
		"Token": m.creds.SessionToken, "Expiration": m.creds.Expiration,
	})
}

// wrap64 breaks s into lines of 64 characters, as IMDS serves signatures.
func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s)
	return b.String()
}
