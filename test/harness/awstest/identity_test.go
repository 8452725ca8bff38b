package awstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sdkRequest is an sts:GetCallerIdentity request as aws-sdk-go v1.55.8
// (Vault Agent's SDK) signed it with AKIDEXAMPLE at 2026-01-02T03:04:05Z,
// for eu-west-1, with a session token and a Vault server ID header.
func sdkRequest(t *testing.T, f *FakeAWS, path, body string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Host = "sts.amazonaws.com"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.Header.Set("X-Amz-Date", "20260102T030405Z")
	r.Header.Set("X-Amz-Security-Token", "SESSIONTOKEN")
	r.Header.Set("X-Vault-AWS-IAM-Server-ID", "vault.example.com")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/sts/aws4_request, "+
		"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id, "+
		"Signature=2df9fd61e8b16961408db6b0150b9f2e0606fc5a9dbac4befa1244ffba9aeadc")
	return r
}

func do(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGetCallerIdentityChecksSignatures(t *testing.T) {
	f := Start(t)
	signedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.now = func() time.Time { return signedAt.Add(time.Minute) }
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	arn := "arn:aws:sts::" + AccountID + ":assumed-role/App/s1"
	f.keys["AKIDEXAMPLE"] = principal{secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "SESSIONTOKEN",
		arn: arn, userID: roleID("App") + ":s1", expires: signedAt.Add(time.Hour)}

	// Vault forwards a login to <sts_endpoint>/<path>: "//" must verify.
	for _, path := range []string{"/", "//"} {
		code, out := do(t, sdkRequest(t, f, path, body))
		if code != http.StatusOK || !strings.Contains(out, "<Arn>"+arn+"</Arn>") || !strings.Contains(out, "<UserId>"+roleID("App")+":s1</UserId>") {
			t.Fatalf("SDK-signed request at %q: %d %s", path, code, out)
		}
	}
	rec := f.CallerIdentityRequests()[0]
	if rec.Region != "eu-west-1" || rec.Host != "sts.amazonaws.com" || rec.ServerID != "vault.example.com" || rec.ARN != arn {
		t.Fatalf("recorded %+v", rec)
	}

	refused := map[string]func(*http.Request){
		"SignatureDoesNotMatch/body": func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(body + "&X=1"))
			r.ContentLength += 4
		},
		"SignatureDoesNotMatch/host":      func(r *http.Request) { r.Host = "sts.eu-west-1.amazonaws.com" },
		"SignatureDoesNotMatch/server id": func(r *http.Request) { r.Header.Set("X-Vault-AWS-IAM-Server-ID", "other") },
		"InvalidClientTokenId/token":      func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "OTHER") },
		"InvalidClientTokenId/key": func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDEXAMPLE", "AKIDOTHER", 1))
		},
		"MissingAuthenticationToken/":       func(r *http.Request) { r.Header.Del("Authorization") },
		"IncompleteSignature/date mismatch": func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260103T030405Z") },
	}
	for name, change := range refused {
		r := sdkRequest(t, f, "/", body)
		change(r)
		code, out := do(t, r)
		want, _, _ := strings.Cut(name, "/")
		if code != http.StatusForbidden || !strings.Contains(out, "<Code>"+want+"</Code>") {
			t.Errorf("%s: %d %s", name, code, out)
		}
	}
	f.now = func() time.Time { return signedAt.Add(16 * time.Minute) }
	if code, out := do(t, sdkRequest(t, f, "/", body)); code != http.StatusForbidden || !strings.Contains(out, "Signature expired") {
		t.Errorf("a signature 16 minutes old: %d %s", code, out)
	}
}

func TestWebIdentityAndRoles(t *testing.T) {
	f := Start(t)
	f.TrustWebIdentityToken("eks-token")
	code, out := post(t, f, "Action", "AssumeRoleWithWebIdentity", "RoleArn", RoleARN("App"), "RoleSessionName", "s1", "WebIdentityToken", "other")
	if code != http.StatusBadRequest || !strings.Contains(out, "InvalidIdentityToken") {
		t.Fatalf("untrusted token: %d %s", code, out)
	}
	code, out = post(t, f, "Action", "AssumeRoleWithWebIdentity", "RoleArn", RoleARN("App"), "RoleSessionName", "s1", "WebIdentityToken", "eks-token")
	if code != http.StatusOK || !strings.Contains(out, "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA") ||
		!strings.Contains(out, "assumed-role/App/s1") {
		t.Fatalf("trusted token: %d %s", code, out)
	}
	code, out = post(t, f, "Action", "GetRole", "RoleName", "App")
	if code != http.StatusOK || !strings.Contains(out, "<RoleId>"+roleID("App")+"</RoleId>") || !strings.Contains(out, "<Arn>"+RoleARN("App")+"</Arn>") {
		t.Fatalf("GetRole: %d %s", code, out)
	}
	if s := f.Sessions(); len(s) != 1 || s[0].Action != "AssumeRoleWithWebIdentity" || s[0].RoleARN != RoleARN("App") {
		t.Fatalf("sessions %+v", s)
	}
}

func TestIMDSAndDescribeInstances(t *testing.T) {
	f := Start(t)
	m := f.StartIMDS(t, Instance{ID: "i-0123456789abcdef0", ImageID: "ami-12345678", Role: "NodeRole"})
	get := func(path, tok string) (int, string) {
		r, _ := http.NewRequest(http.MethodGet, m.URL+path, nil)
		if tok != "" {
			r.Header.Set("X-Aws-Ec2-Metadata-Token", tok)
		}
		return do(t, r)
	}
	if code, _ := get("/latest/dynamic/instance-identity/document", ""); code != http.StatusUnauthorized {
		t.Fatalf("IMDSv1 read answered %d, want 401", code)
	}
	r, _ := http.NewRequest(http.MethodPut, m.URL+"/latest/api/token", nil)
	r.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
	code, tok := do(t, r)
	if code != http.StatusOK || tok == "" {
		t.Fatalf("token: %d", code)
	}
	code, doc := get("/latest/dynamic/instance-identity/document", tok)
	var d map[string]string
	if code != http.StatusOK || json.Unmarshal([]byte(doc), &d) != nil || d["instanceId"] != "i-0123456789abcdef0" || d["region"] != "us-east-1" {
		t.Fatalf("document: %d %s", code, doc)
	}
	code, role := get("/latest/meta-data/iam/security-credentials/", tok)
	if code != http.StatusOK || role != "NodeRole" {
		t.Fatalf("role: %d %s", code, role)
	}
	code, out := get("/latest/meta-data/iam/security-credentials/NodeRole", tok)
	var c map[string]string
	if code != http.StatusOK || json.Unmarshal([]byte(out), &c) != nil || !strings.HasPrefix(c["AccessKeyId"], "ASIA") {
		t.Fatalf("credentials: %d", code)
	}
	if p := f.keys[c["AccessKeyId"]]; p.arn != "arn:aws:sts::"+AccountID+":assumed-role/NodeRole/i-0123456789abcdef0" {
		t.Fatalf("IMDS credentials sign as %q", p.arn)
	}
	form := url.Values{"Action": {"DescribeInstances"}, "Version": {"2016-11-15"}, "InstanceId.1": {"i-0123456789abcdef0"}}
	resp, err := http.PostForm(f.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "<instanceState><code>16</code><name>running</name></instanceState>") ||
		!strings.Contains(string(b), "<imageId>ami-12345678</imageId>") {
		t.Fatalf("DescribeInstances: %s", b)
	}
	form.Set("InstanceId.1", "i-missing")
	resp, _ = http.PostForm(f.URL, form)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "<Code>InvalidInstanceID.NotFound</Code>") {
		t.Fatalf("unknown instance: %d %s", resp.StatusCode, b)
	}
}
