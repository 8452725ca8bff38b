package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// callerRegion is the region CallerIdentity signs for, as Vault's
// configuration names it.
const callerRegion = "us-east-1"

// CallerIdentity asks the fake who k is, with an sts:GetCallerIdentity
// request signed with k (Signature Version 4, with k's session token when
// it has one), as `aws sts get-caller-identity` would with those keys. It
// returns the ARN STS names, or an error naming STS's error code
// (ExpiredToken, InvalidClientTokenId, SignatureDoesNotMatch); neither
// ever holds the secret key or the session token.
//
// The signer here is the harness's own, small and separate from rotor's;
// the verifier it talks to is checked against requests signed by
// aws-sdk-go (identity_test.go).
func (f *FakeAWS) CallerIdentity(k Key) (string, error) {
	code, b, err := f.signedPost(k, "Action=GetCallerIdentity&Version=2011-06-15")
	if err != nil {
		return "", fmt.Errorf("awstest: GetCallerIdentity: %w", err)
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("awstest: GetCallerIdentity with key %s: %s (HTTP %d)", k.AccessKeyID, errorCode(b), code)
	}
	var ok struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
	}
	if err := xml.Unmarshal(b, &ok); err != nil || ok.Arn == "" {
		return "", fmt.Errorf("awstest: GetCallerIdentity: unexpected answer (%v)", err)
	}
	return ok.Arn, nil
}

// signedPost sends body (a Query API form) to the fake, signed with k, and
// returns the answer's status and body.
func (f *FakeAWS) signedPost(k Key, body string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, f.URL+"/", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	signRequest(req, k, body, f.clock())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// errorCode returns the Code of an AWS error answer.
func errorCode(b []byte) string {
	var e struct {
		Code string `xml:"Error>Code"`
	}
	_ = xml.Unmarshal(b, &e)
	return e.Code
}

// clock is the fake's clock, read under its lock (tests may replace it).
func (f *FakeAWS) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now()
}

// signRequest adds SigV4 headers for sts in callerRegion to req,
// whose body is body.
func signRequest(req *http.Request, k Key, body string, now time.Time) {
	amzDate := now.UTC().Format("20060102T150405Z")
	scope := amzDate[:8] + "/" + callerRegion + "/sts/aws4_request"
	headers := map[string]string{
		"content-type": "application/x-www-form-urlencoded; charset=utf-8",
		"host":         req.URL.Host,
		"x-amz-date":   amzDate,
	}
	names := []string{"content-type", "host", "x-amz-date"}
	if k.SessionToken != "" {
		headers["x-amz-security-token"] = k.SessionToken
		names = append(names, "x-amz-security-token")
	}
	var canon strings.Builder
	canon.WriteString("POST\n/\n\n")
	for _, n := range names { // already sorted
		canon.WriteString(n + ":" + headers[n] + "\n")
	}
	signed := strings.Join(names, ";")
	canon.WriteString("\n" + signed + "\n" + hexSum(body))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hexSum(canon.String())
	key := []byte("AWS4" + k.SecretAccessKey)
	for _, part := range []string{amzDate[:8], callerRegion, "sts", "aws4_request", toSign} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	for _, n := range names {
		if n != "host" {
			req.Header.Set(n, headers[n])
		}
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+k.AccessKeyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+hex.EncodeToString(key))
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
