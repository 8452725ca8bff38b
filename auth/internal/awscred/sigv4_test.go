package awscred

import (
	"strings"
	"testing"
	"time"
)

// The expected Authorization headers and URLs below were produced by
// aws-sdk-go v1.55.8 (the SDK and STS endpoint resolution Vault Agent 1.21
// uses through go-secure-stdlib/awsutil) signing the same request with the
// same keys at the same time: rotor's login must be what Vault Agent's is.
func TestSignedCallerIdentityMatchesVaultAgentsSDK(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keys := Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	cases := []struct {
		region, token, serverID, url, auth string
	}{
		{"us-east-1", "", "", "https://sts.amazonaws.com/",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=654c2f9b8e336b65ff3b2f7fc0c1c88d14f6f0efb2ec02ee24d0ea9a1cbd1a40"},
		{"eu-west-1", "SESSIONTOKEN", "vault.example.com", "https://sts.amazonaws.com/",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-vault-aws-iam-server-id, Signature=2df9fd61e8b16961408db6b0150b9f2e0606fc5a9dbac4befa1244ffba9aeadc"},
		{"ap-east-1", "", "", "https://sts.ap-east-1.amazonaws.com/",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/ap-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=dc96d12983d80737709b8b89199047562abbe029a65cc82412386320e37ab169"},
		{"cn-north-1", "", "", "https://sts.cn-north-1.amazonaws.com.cn/",
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/cn-north-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=e54173aff777eb5b9e76c7c896dd8102b95287b668a7f5dbe995bf86732472ea"},
	}
	for _, c := range cases {
		t.Run(c.region, func(t *testing.T) {
			url := STSURL(c.region, false)
			if url != c.url {
				t.Fatalf("URL %s, want %s", url, c.url)
			}
			k := keys
			k.SessionToken = c.token
			h := SignedCallerIdentity(k, c.region, url, c.serverID, at)
			if got := h.Get("Authorization"); got != c.auth {
				t.Fatalf("Authorization\n got %s\nwant %s", got, c.auth)
			}
			if h.Get("X-Amz-Date") != "20260102T030405Z" || h.Get("Content-Type") != "application/x-www-form-urlencoded; charset=utf-8" {
				t.Fatalf("headers %v", h)
			}
			if h.Get("X-Amz-Security-Token") != c.token || h.Get(ServerIDHeader) != c.serverID {
				t.Fatalf("token or server ID header: %v", h)
			}
		})
	}
}

func TestSTSURL(t *testing.T) {
	for _, c := range []struct {
		region   string
		regional bool
		want     string
	}{
		{"us-west-2", false, "https://sts.amazonaws.com/"},
		{"us-west-2", true, "https://sts.us-west-2.amazonaws.com/"},
		{"us-gov-west-1", false, "https://sts.us-gov-west-1.amazonaws.com/"},
		{"il-central-1", false, "https://sts.il-central-1.amazonaws.com/"},
		{"us-iso-east-1", false, "https://sts.us-iso-east-1.c2s.ic.gov/"},
		{"us-isob-east-1", false, "https://sts.us-isob-east-1.sc2s.sgov.gov/"},
		{"eu-isoe-west-1", false, "https://sts.eu-isoe-west-1.cloud.adc-e.uk/"},
		{"us-isof-south-1", false, "https://sts.us-isof-south-1.csp.hci.ic.gov/"},
	} {
		if got := STSURL(c.region, c.regional); got != c.want {
			t.Errorf("STSURL(%s, %v) = %s, want %s", c.region, c.regional, got, c.want)
		}
	}
}

func TestCredentialsNeverPrintKeys(t *testing.T) {
	c := Credentials{AccessKeyID: "AKIAEXAMPLEID", SecretAccessKey: "secret-value", SessionToken: "session-value", Source: "environment"}
	for _, s := range []string{c.String(), c.GoString(), c.LogValue().String()} {
		if strings.Contains(s, "secret-value") || strings.Contains(s, "session-value") {
			t.Fatalf("printed credentials show a key: %s", s)
		}
	}
}
