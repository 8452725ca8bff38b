package awstest

import (
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// SetupVaultAWSAuth enables Vault's aws auth method at auth/<mount> and
// points it at f: config/client gets the root keys, and f.URL as its
// sts_endpoint (where Vault forwards an iam login's signed
// GetCallerIdentity), iam_endpoint (GetUser and GetRole, to resolve bound
// ARNs to unique IDs) and endpoint (EC2 DescribeInstances, for ec2
// logins), with max_retries 0. serverID, if set, becomes
// iam_server_id_header_value: logins must then sign that header value.
//
// Roles are the test's to write, e.g. auth/aws/role/app with auth_type
// "iam" and bound_iam_principal_arn, or auth_type "ec2" and bound_ami_id.
func SetupVaultAWSAuth(t testing.TB, c *api.Client, f *FakeAWS, mount, serverID string) {
	t.Helper()
	mount = strings.Trim(mount, "/")
	vaulttest.EnableAuth(t, c, mount, "aws")
	cfg := map[string]any{
		"access_key":   RootAccessKey,
		"secret_key":   RootSecretKey,
		"endpoint":     f.URL,
		"iam_endpoint": f.URL,
		"sts_endpoint": f.URL,
		"sts_region":   "us-east-1",
		"max_retries":  0,
	}
	if serverID != "" {
		cfg["iam_server_id_header_value"] = serverID
	}
	write(t, c, "auth/"+mount+"/config/client", cfg)
}

// RegisterIdentityCertificate registers m's identity certificate with the
// aws auth method at auth/<mount> (config/certificate/<instance ID>, type
// "identity"), so Vault can verify the signature of m's identity document
// in an ec2 login.
func RegisterIdentityCertificate(t testing.TB, c *api.Client, mount string, m *IMDS) {
	t.Helper()
	write(t, c, "auth/"+strings.Trim(mount, "/")+"/config/certificate/"+m.Instance.ID, map[string]any{
		"aws_public_cert": m.CertificatePEM,
		"type":            "identity",
	})
}
