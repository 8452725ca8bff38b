package auth

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/cloudfake"
)

// TestAliCloudAgainstVaultAgent runs Vault Agent's alicloud method and
// rotor's on the same configurations and environment against the same
// fake Alibaba Cloud and compares the signed GetCallerIdentity requests
// they hand to Vault: URL (host, path, every query parameter but the
// per-call Signature, SignatureNonce and Timestamp) and headers (but the
// User-Agent). Both requests must pass the fake STS's signature check, and
// come from the same caller.
func TestAliCloudAgainstVaultAgent(t *testing.T) {
	f := cloudfake.New(t)
	lc := newLoginCapture(t)
	akID, akSecret, _ := f.AliAccessKey("vault-user", false)
	stsID, stsSecret, stsToken := f.AliAccessKey("deploy", true)
	envID, envSecret, _ := f.AliAccessKey("env-user", false)
	cases := []struct {
		name string
		hcl  string
		opts AliCloudOptions
		env  map[string]string
	}{
		{name: "access key in config", hcl: `role = "web"
region = "cn-hangzhou"
access_key = "` + akID + `"
access_secret = "` + akSecret + `"`, opts: AliCloudOptions{Role: "web", Region: "cn-hangzhou", AccessKey: akID, AccessSecret: akSecret}},
		{name: "STS keys in config", hcl: `role = "web"
region = "eu-central-1"
access_key = "` + stsID + `"
access_secret = "` + stsSecret + `"
access_token = "` + stsToken + `"`, opts: AliCloudOptions{Role: "web", Region: "eu-central-1", AccessKey: stsID, AccessSecret: stsSecret, AccessToken: stsToken}},
		{name: "environment wins over config", hcl: `role = "web"
region = "us-west-1"
access_key = "` + akID + `"
access_secret = "` + akSecret + `"`, opts: AliCloudOptions{Role: "web", Region: "us-west-1", AccessKey: akID, AccessSecret: akSecret},
			env: map[string]string{"ALICLOUD_ACCESS_KEY": envID, "ALICLOUD_SECRET_KEY": envSecret}},
		{name: "ECS RAM role by name", hcl: `role = "web"
region = "cn-shanghai"
role_name = "` + cloudfake.AliRoleName + `"`, opts: AliCloudOptions{Role: "web", Region: "cn-shanghai", RoleName: cloudfake.AliRoleName}},
		{name: "ECS RAM role from metadata", hcl: `role = "web"
region = "ap-southeast-1"
credential_poll_interval = 30`, opts: AliCloudOptions{Role: "web", Region: "ap-southeast-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.Reset()
			// The Alibaba Cloud SDK lets HTTPS_PROXY replace the proxy hook
			// Vault's plugin captures the request with: Vault Agent's login
			// fails behind an HTTPS proxy ("no request captured").
			env := map[string]string{"HTTPS_PROXY": "", "https_proxy": ""}
			for k, v := range tc.env {
				env[k] = v
			}
			agent, err := agentLogin(t, f, lc, "method \"alicloud\" {\nconfig = {\n"+tc.hcl+"\n}\n}", env)
			if err != nil {
				t.Fatal(err)
			}
			agentCalls := requestsOf(f, "/latest/")
			f.Reset()
			rotor, err := rotorLogin(t, f, lc, MethodOptions{Type: "alicloud", MountPath: "auth/alicloud", AliCloud: &tc.opts}, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			// Vault Agent's constructor reads the credentials once more
			// than its login; the calls must be the same, in the same order.
			if rotorCalls := requestsOf(f, "/latest/"); !strings.HasSuffix(strings.Join(agentCalls, "\n"), strings.Join(rotorCalls, "\n")) {
				t.Errorf("calls to the ECS metadata service differ:\n  Vault Agent: %q\n  rotor:       %q", agentCalls, rotorCalls)
			}
			if agent.Path != "auth/alicloud/login" || rotor.Path != "auth/alicloud/login" {
				t.Errorf("login paths: Vault Agent %q, rotor %q", agent.Path, rotor.Path)
			}
			sameExcept(t, "login data", clone(agent.Data), clone(rotor.Data), "identity_request_url", "identity_request_headers")
			ua, ha, ida := aliVerify(t, f, agent.Data)
			ur, hr, idr := aliVerify(t, f, rotor.Data)
			if ida.Arn != idr.Arn || ida.PrincipalId != idr.PrincipalId {
				t.Errorf("callers differ: Vault Agent %+v, rotor %+v", ida, idr)
			}
			if ua.Host != ur.Host || ua.Path != ur.Path || ua.Scheme != ur.Scheme {
				t.Errorf("URLs differ: Vault Agent %s, rotor %s", ua.Redacted(), ur.Redacted())
			}
			qa, qr := ua.Query(), ur.Query()
			for _, q := range []url.Values{qa, qr} {
				ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
				if err != nil || time.Since(ts).Abs() > time.Minute {
					t.Errorf("Timestamp %q is not now", q.Get("Timestamp"))
				}
				if len(q.Get("SignatureNonce")) < 16 {
					t.Errorf("SignatureNonce %q is too short", q.Get("SignatureNonce"))
				}
				q.Del("Signature")
				q.Del("SignatureNonce")
				q.Del("Timestamp")
			}
			if qa.Encode() != qr.Encode() {
				t.Errorf("queries differ:\n  Vault Agent: %s\n  rotor:       %s", qa.Encode(), qr.Encode())
			}
			for _, h := range []http.Header{ha, hr} {
				delete(h, "User-Agent")
				delete(h, "x-sdk-core-version") // the SDK's version
			}
			ja, _ := json.Marshal(ha)
			jr, _ := json.Marshal(hr)
			if string(ja) != string(jr) {
				t.Errorf("headers differ:\n  Vault Agent: %s\n  rotor:       %s", ja, jr)
			}
		})
	}
}

// aliVerify decodes the login's signed request and checks it as the
// alicloud plugin and STS would, returning the URL, the headers and the
// caller STS names.
func aliVerify(t *testing.T, f *cloudfake.Fake, data map[string]any) (*url.URL, http.Header, *cloudfake.AliIdentity) {
	t.Helper()
	ub, err := base64.StdEncoding.DecodeString(data["identity_request_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	hb, err := base64.StdEncoding.DecodeString(data["identity_request_headers"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var h http.Header
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatalf("identity_request_headers: %v", err)
	}
	id, err := f.VerifyAliCallerIdentity(string(ub), h)
	if err != nil {
		t.Fatalf("signed request %s: %v", ub, err)
	}
	u, _ := url.Parse(string(ub))
	return u, h, id
}
