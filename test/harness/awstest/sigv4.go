package awstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

// Root keys SetupVaultAWS and SetupVaultAWSAuth configure Vault with; they
// belong to the IAM user vault-root.
const (
	RootAccessKey = "AKIAAWSTESTROOTKEY00"
	RootSecretKey = "awstest-root-secret-key-not-checked-by-the-fake"
	rootARN       = "arn:aws:iam::" + AccountID + ":user/vault-root"
	rootUserID    = "AIDAFAKEVAULTROOT0000"
)

// principal is who a key signs as: what GetCallerIdentity answers.
type principal struct {
	secret, sessionToken string // sessionToken is set for temporary (ASIA) keys
	arn, userID          string
	expires              time.Time // zero for long-term keys
}

// CallerIdentityRequest is one sts:GetCallerIdentity request the fake
// received (from Vault forwarding a login, or from Vault itself).
type CallerIdentityRequest struct {
	// AccessKeyID, Region and Service are the signature's credential scope.
	AccessKeyID, Region, Service string
	// Host is the Host header the request was signed for (a login's
	// names the real STS, e.g. sts.amazonaws.com; Vault keeps it).
	Host string
	// SignedHeaders lists the signed header names, lowercased.
	SignedHeaders []string
	// ServerID is the X-Vault-AWS-IAM-Server-ID header, if any.
	ServerID string
	// ARN is who the request proved to be; empty if it was refused.
	ARN string
	// Error is the AWS error code of a refused request ("" if accepted).
	Error string
}

// CallerIdentityRequests returns the GetCallerIdentity requests so far.
func (f *FakeAWS) CallerIdentityRequests() []CallerIdentityRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.callers)
}

// maxSkew is how far a signature's date may be from the fake's clock: STS
// refuses a request signed more than 15 minutes away.
const maxSkew = 15 * time.Minute

// verify checks a request's AWS Signature Version 4, in the Authorization
// header, as STS does, and returns who signed it. It implements the
// specification independently of rotor's signer, so that a mistake there
// is refused here (and by Vault forwarding to here) instead of agreed with.
func (f *FakeAWS) verify(r *http.Request, body []byte, rec *CallerIdentityRequest) (*principal, *apiError) {
	denied := func(code, msg string) (*principal, *apiError) {
		rec.Error = code
		return nil, &apiError{http.StatusForbidden, code, msg}
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return denied("MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return denied("IncompleteSignature", "Unsupported algorithm "+alg)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return denied("IncompleteSignature", "Authorization header is incomplete")
	}
	rec.AccessKeyID, rec.Region, rec.Service = scope[0], scope[2], scope[3]
	rec.SignedHeaders = strings.Split(fields["SignedHeaders"], ";")
	rec.Host, rec.ServerID = r.Host, r.Header.Get("X-Vault-AWS-IAM-Server-ID")
	p, ok := f.keys[scope[0]]
	if !ok {
		return denied("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if !p.expires.IsZero() && f.now().After(p.expires) {
		return denied("ExpiredToken", "The security token included in the request is expired")
	}
	if p.sessionToken != "" && r.Header.Get("X-Amz-Security-Token") != p.sessionToken {
		return denied("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, scope[1]) {
		return denied("IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope")
	}
	if d := f.now().Sub(at); d > maxSkew || d < -maxSkew {
		return denied("SignatureDoesNotMatch", "Signature expired: "+amzDate)
	}
	if !slices.Contains(rec.SignedHeaders, "host") || !slices.Contains(rec.SignedHeaders, "x-amz-date") {
		return denied("SignatureDoesNotMatch", "host and x-amz-date must be signed")
	}
	if p.sessionToken != "" && !slices.Contains(rec.SignedHeaders, "x-amz-security-token") {
		return denied("SignatureDoesNotMatch", "x-amz-security-token must be signed")
	}
	var canon strings.Builder
	// AWS normalizes the path of non-S3 requests; Vault forwards a login
	// to <sts_endpoint>/<path>, so "/" arrives as "//".
	p2 := path.Clean("/" + r.URL.EscapedPath())
	canon.WriteString(r.Method + "\n" + p2 + "\n" + canonicalQuery(r) + "\n")
	for _, h := range rec.SignedHeaders {
		v := strings.Join(r.Header.Values(h), ",")
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	sum := sha256.Sum256(body)
	canon.WriteString("\n" + fields["SignedHeaders"] + "\n" + hex.EncodeToString(sum[:]))
	creq := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(creq[:])
	key := []byte("AWS4" + p.secret)
	for _, s := range append(scope[1:], toSign) {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		key = m.Sum(nil)
	}
	want, _ := hex.DecodeString(fields["Signature"])
	if !hmac.Equal(key, want) {
		return denied("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	rec.ARN = p.arn
	return &p, nil
}

// canonicalQuery is SigV4's sorted, escaped query string.
func canonicalQuery(r *http.Request) string {
	q := r.URL.Query()
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, escape(k)+"="+escape(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

// escape is SigV4's URI encoding: everything but unreserved characters.
func escape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}
