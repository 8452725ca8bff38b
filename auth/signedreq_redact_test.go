package auth

import (
	"encoding/base64"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// base64Run is a run long enough to be an encoded signed request.
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{40,}={0,2}`)

// An alicloud login sends its STS security token inside a base64 signed
// request: when Vault's answer quotes the request, neither the token nor
// the encoded request that holds it shows in a log line or the error.
func TestSignedRequestWithSessionTokenIsRedacted(t *testing.T) {
	const tok = "alicloud-sts-security-token-0123456789-SECRET"
	t.Setenv("ALICLOUD_ACCESS_KEY", "")
	t.Setenv("ALICLOUD_SECRET_KEY", "")
	m, err := newAliCloud("auth/alicloud", AliCloudOptions{Role: "r", Region: "cn-hangzhou",
		AccessKey: "LTAIexample", AccessSecret: "alicloud-access-secret-SECRET", AccessToken: tok}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, text := failedLogin(t, m, echoVault(t), true)
	if !strings.Contains(text, "bad request") || !strings.Contains(text, "identity_request_url") {
		t.Fatalf("Vault's answer quoting the request is not shown: %s", text)
	}
	if strings.Contains(text, tok) {
		t.Fatalf("the security token shows: %s", text)
	}
	for _, run := range base64Run.FindAllString(text, -1) {
		if b, err := base64.StdEncoding.DecodeString(run); err == nil && strings.Contains(string(b), tok) {
			t.Fatalf("the signed request holding the security token shows, encoded: %s", run)
		}
	}
}
