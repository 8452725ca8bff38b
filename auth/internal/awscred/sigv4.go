package awscred

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// DefaultRegion is the signing region when the method sets none: Vault
// Agent's default (it does not read AWS_REGION for this).
const DefaultRegion = "us-east-1"

// CallerIdentityBody is the sts:GetCallerIdentity request body, the only
// one Vault's aws auth method accepts.
const CallerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"

// ServerIDHeader carries the method's header_value; Vault checks that it
// is signed, so a request signed for one Vault cannot log in to another.
const ServerIDHeader = "X-Vault-AWS-IAM-Server-ID"

// legacySTSRegions resolve to the global endpoint sts.amazonaws.com unless
// AWS_STS_REGIONAL_ENDPOINTS=regional: aws-sdk-go v1's default, which
// Vault Agent uses. The URL is part of what Vault forwards to STS (the
// signed Host header), so rotor must name the same one.
var legacySTSRegions = map[string]bool{
	"ap-northeast-1": true, "ap-south-1": true, "ap-southeast-1": true, "ap-southeast-2": true,
	"ca-central-1": true, "eu-central-1": true, "eu-north-1": true, "eu-west-1": true, "eu-west-2": true,
	"eu-west-3": true, "sa-east-1": true, "us-east-1": true, "us-east-2": true, "us-west-1": true, "us-west-2": true,
}

// STSURL returns the STS endpoint of region, as aws-sdk-go v1 resolves it.
func STSURL(region string, regional bool) string {
	if !regional && legacySTSRegions[region] {
		return "https://sts.amazonaws.com/"
	}
	suffix := "amazonaws.com"
	switch {
	case strings.HasPrefix(region, "cn-"):
		suffix = "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-iso-"):
		suffix = "c2s.ic.gov"
	case strings.HasPrefix(region, "us-isob-"):
		suffix = "sc2s.sgov.gov"
	case strings.HasPrefix(region, "eu-isoe-"):
		suffix = "cloud.adc-e.uk"
	case strings.HasPrefix(region, "us-isof-"):
		suffix = "csp.hci.ic.gov"
	}
	return "https://sts." + region + "." + suffix + "/"
}

// SignedCallerIdentity builds the sts:GetCallerIdentity request signed with
// c (AWS Signature Version 4) at now, as aws-sdk-go v1 builds it for Vault
// Agent: a POST of CallerIdentityBody to url, with the header_value in
// ServerIDHeader when serverID is set. Nothing is sent: Vault forwards the
// request to STS, and STS's answer tells Vault who signed it.
func SignedCallerIdentity(c Credentials, region, url, serverID string, now time.Time) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	h.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
	if c.SessionToken != "" {
		h.Set("X-Amz-Security-Token", c.SessionToken)
	}
	if serverID != "" {
		h.Set(ServerIDHeader, serverID)
	}
	host := hostOf(url)
	signed, canonHeaders := canonicalHeaders(h, host)
	scope := now.UTC().Format("20060102") + "/" + region + "/sts/aws4_request"
	canonical := strings.Join([]string{
		http.MethodPost,
		"/",
		"", // no query string
		canonHeaders,
		signed,
		hexSHA256(CallerIdentityBody),
	}, "\n")
	toSign := "AWS4-HMAC-SHA256\n" + h.Get("X-Amz-Date") + "\n" + scope + "\n" + hexSHA256(canonical)
	key := hmacSHA256([]byte("AWS4"+c.SecretAccessKey), now.UTC().Format("20060102"))
	for _, part := range []string{region, "sts", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.AccessKeyID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
	return h
}

// canonicalHeaders returns SigV4's signed-header list and canonical header
// block for h plus host: lowercased names in order, values with spaces
// trimmed and runs of spaces collapsed.
func canonicalHeaders(h http.Header, host string) (signed, block string) {
	vals := map[string]string{"host": host}
	for k, v := range h {
		vals[strings.ToLower(k)] = collapseSpaces(strings.Join(v, ","))
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + ":" + vals[k] + "\n")
	}
	return strings.Join(names, ";"), b.String()
}

func collapseSpaces(s string) string {
	s = strings.Trim(s, " ")
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
