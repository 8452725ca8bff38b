package awscred

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/awstest"
)

// world is every credential source at once, each with its own keys, so a
// test can remove sources one by one and see which one the chain picks.
type world struct {
	env  map[string]string
	aws  *awstest.FakeAWS
	imds *awstest.IMDS
	dir  string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{aws: awstest.Start(t), dir: t.TempDir()}
	w.imds = w.aws.StartIMDS(t, awstest.Instance{ID: "i-0abc", ImageID: "ami-1", Role: "NodeRole"})
	w.aws.TrustWebIdentityToken("pod-token")
	os.WriteFile(filepath.Join(w.dir, "token"), []byte("pod-token\n"), 0o600)
	os.MkdirAll(filepath.Join(w.dir, ".aws"), 0o700)
	os.WriteFile(filepath.Join(w.dir, ".aws", "credentials"), []byte(`
# a comment
[other]
aws_access_key_id = AKIAOTHERPROFILE0000
aws_secret_access_key = other-secret

[default]
aws_access_key_id=AKIASHAREDFILE000000
aws_secret_access_key = shared-secret
; another comment
`), 0o600)
	w.env = map[string]string{
		"HOME":                              w.dir,
		"AWS_ACCESS_KEY_ID":                 "AKIAENVIRONMENT00000",
		"AWS_SECRET_ACCESS_KEY":             "env-secret",
		"AWS_ROLE_ARN":                      awstest.RoleARN("PodRole"),
		"AWS_WEB_IDENTITY_TOKEN_FILE":       filepath.Join(w.dir, "token"),
		"AWS_ENDPOINT_URL_STS":              w.aws.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": w.imds.URL,
	}
	return w
}

func (w *world) chain(static Credentials) *Chain {
	c := NewChain(static)
	c.Env = func(k string) (string, bool) { v, ok := w.env[k]; return v, ok }
	return c
}

func TestChainOrder(t *testing.T) {
	w := newWorld(t)
	static := Credentials{AccessKeyID: "AKIACONFIG0000000000", SecretAccessKey: "config-secret"}
	steps := []struct {
		remove     func()
		source, id string // id: the key ID or its prefix
	}{
		{func() {}, "config", "AKIACONFIG"},
		{func() { static = Credentials{} }, "environment", "AKIAENVIRONMENT"},
		{func() { delete(w.env, "AWS_SECRET_ACCESS_KEY") }, "shared credentials file", "AKIASHAREDFILE"}, // a half-set pair is skipped
		{func() { w.env["AWS_PROFILE"] = "other" }, "shared credentials file", "AKIAOTHERPROFILE"},
		{func() { w.env["AWS_PROFILE"] = "missing" }, "web identity", "ASIA"},
		{func() { delete(w.env, "AWS_ROLE_ARN") }, "instance metadata", "ASIA"},
	}
	for _, s := range steps {
		s.remove()
		c, err := w.chain(static).Get(context.Background())
		if err != nil {
			t.Fatalf("want %s: %v", s.source, err)
		}
		if c.Source != s.source || !strings.HasPrefix(c.AccessKeyID, s.id) {
			t.Fatalf("got %s (key %.8s...), want %s (%s)", c.Source, c.AccessKeyID, s.source, s.id)
		}
	}
	// The last two: STS's session for the pod's role, IMDS's for the node's.
	sessions := w.aws.Sessions()
	if len(sessions) != 2 || sessions[0].Action != "AssumeRoleWithWebIdentity" || sessions[0].RoleARN != awstest.RoleARN("PodRole") ||
		!strings.HasPrefix(sessions[0].SessionName, "rotor-") || sessions[1].Action != "InstanceProfile" {
		t.Fatalf("sessions %+v", sessions)
	}
	w.env["AWS_EC2_METADATA_DISABLED"] = "true"
	if _, err := w.chain(static).Get(context.Background()); err == nil || !strings.Contains(err.Error(), "no AWS credentials found") {
		t.Fatalf("nothing left: %v", err)
	}
}

// A source that is set up and fails stops the chain: with a refused web
// identity token, rotor must not log in as the node's instance role.
func TestConfiguredSourceFailureStopsTheChain(t *testing.T) {
	w := newWorld(t)
	delete(w.env, "AWS_ACCESS_KEY_ID")
	w.env["HOME"] = t.TempDir()
	os.WriteFile(w.env["AWS_WEB_IDENTITY_TOKEN_FILE"], []byte("untrusted"), 0o600)
	_, err := w.chain(Credentials{}).Get(context.Background())
	if err == nil || !strings.Contains(err.Error(), "web identity") || !strings.Contains(err.Error(), "InvalidIdentityToken") {
		t.Fatalf("got %v, want the web identity error", err)
	}
	if strings.Contains(err.Error(), "untrusted") {
		t.Fatal("the error shows the web identity token")
	}
	for _, r := range w.imds.Requests() {
		if strings.Contains(r, "security-credentials") {
			t.Fatalf("the chain fell through to IMDS: %s", r)
		}
	}
}

func TestTemporaryCredentialsAreCachedUntilNearExpiry(t *testing.T) {
	w := newWorld(t)
	delete(w.env, "AWS_ACCESS_KEY_ID")
	w.env["HOME"] = t.TempDir()
	c := w.chain(Credentials{})
	now := time.Now()
	c.Now = func() time.Time { return now }
	first, err := c.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Get(context.Background()); again.AccessKeyID != first.AccessKeyID || len(w.aws.Sessions()) != 1 {
		t.Fatalf("second login: %d STS calls, want the cached credentials", len(w.aws.Sessions()))
	}
	// STS grants an hour; within refreshMargin of the end, new ones.
	now = first.Expires.Add(-refreshMargin + time.Second)
	if next, _ := c.Get(context.Background()); next.AccessKeyID == first.AccessKeyID || len(w.aws.Sessions()) != 2 {
		t.Fatalf("near expiry: %d STS calls, want fresh credentials", len(w.aws.Sessions()))
	}
}

func TestIMDSv2AndFallback(t *testing.T) {
	w := newWorld(t)
	w.env = map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": w.imds.URL, "HOME": t.TempDir()}
	if _, err := w.chain(Credentials{}).Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range w.imds.Requests() {
		if strings.HasPrefix(r, "GET") && !strings.HasSuffix(r, "(token)") {
			t.Fatalf("IMDS read without a session token: %s", r)
		}
	}
	// An IMDSv1-only endpoint: read without a token, unless forbidden.
	w.imds.OnlyV1()
	if _, err := w.chain(Credentials{}).Get(context.Background()); err != nil {
		t.Fatalf("IMDSv1 fallback: %v", err)
	}
	w.env["AWS_EC2_METADATA_V1_DISABLED"] = "true"
	if _, err := w.chain(Credentials{}).Get(context.Background()); err == nil || !strings.Contains(err.Error(), "IMDSv2 token unavailable") {
		t.Fatalf("with AWS_EC2_METADATA_V1_DISABLED: %v", err)
	}
}

func TestContainerCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "container-auth" {
			rw.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(rw).Encode(map[string]string{"code": "AccessDenied", "message": "bad token"})
			return
		}
		json.NewEncoder(rw).Encode(map[string]string{"AccessKeyId": "ASIACONTAINER0000000", "SecretAccessKey": "s",
			"Token": "t", "Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "auth"), []byte("container-auth\n"), 0o600)
	env := map[string]string{"HOME": dir, "AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/creds",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": filepath.Join(dir, "auth"), "AWS_EC2_METADATA_DISABLED": "true"}
	c := NewChain(Credentials{})
	c.Env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := c.Get(context.Background())
	if err != nil || got.Source != "container" || got.AccessKeyID != "ASIACONTAINER0000000" || got.Expires.IsZero() {
		t.Fatalf("container: %v %v", got, err)
	}
	env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = ""
	c.cached = Credentials{}
	if _, err := c.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("refused: %v", err)
	}
	env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://198.51.100.7/creds"
	if _, err := c.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "plain http") {
		t.Fatalf("plain http to another host: %v", err)
	}
}
