package awstest

import (
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// Names SetupVaultAWS gives things in Vault.
const (
	// Mount is where the aws secrets engine is enabled.
	Mount = "aws"
	// IAMUserRole issues iam_user credentials: aws/creds/s3-readonly.
	IAMUserRole = "s3-readonly"
	// AssumedRole issues assumed_role credentials: aws/creds/deploy-role.
	AssumedRole = "deploy-role"
	// DeployRoleARN is the only role_arn of AssumedRole.
	DeployRoleARN = "arn:aws:iam::" + AccountID + ":role/DeployRole"
	// FederationRole issues federation_token credentials:
	// aws/creds/ci-deploy (or aws/sts/ci-deploy).
	FederationRole = "ci-deploy"
)

// S3ReadOnlyPolicy is IAMUserRole's policy_document, from the seed article;
// Vault puts it on each user it creates as an inline policy named after the
// role.
const S3ReadOnlyPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"],
      "Resource": ["arn:aws:s3:::my-app-bucket", "arn:aws:s3:::my-app-bucket/*"]
    }
  ]
}`

// CIDeployPolicy is FederationRole's policy_document, from the seed
// article; Vault passes it to GetFederationToken as the session policy.
const CIDeployPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecs:UpdateService", "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
        "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"
      ],
      "Resource": "*"
    }
  ]
}`

// Option changes the TTLs SetupVaultAWS configures.
type Option func(*ttls)

type ttls struct {
	lease, leaseMax       string
	stsDefault, stsMaxTTL string
}

// WithLease sets aws/config/lease, the lease of every iam_user credential
// (default "1h" and "24h"). Such leases are renewable, each renewal
// granting lease again, until leaseMax after issue.
func WithLease(lease, leaseMax string) Option {
	return func(o *ttls) { o.lease, o.leaseMax = lease, leaseMax }
}

// WithSTSTTL sets the default_sts_ttl and max_sts_ttl of AssumedRole and
// FederationRole (default
// "1h" and "4h"). Its leases are not renewable and last until the STS
// credentials expire (a second less than asked, at times: STS states the
// expiry in whole seconds). Neither may be below "15m": Vault's AWS SDK
// rejects a DurationSeconds under 900 before sending the request, so a
// shorter TTL makes every read of aws/creds/deploy-role fail. For shorter
// leases, see FakeAWS.ShortenSTSLifetime.
func WithSTSTTL(defaultTTL, maxTTL string) Option {
	return func(o *ttls) { o.stsDefault, o.stsMaxTTL = defaultTTL, maxTTL }
}

// SetupVaultAWS points Vault's aws secrets engine at f:
//
//   - enables the engine at aws/;
//   - writes aws/config/root with dummy root keys, region us-east-1,
//     iam_endpoint and sts_endpoint f.URL, and max_retries 0 (so a failure
//     injected with FailAction reaches Vault at once);
//   - writes aws/config/lease (see WithLease);
//   - creates the roles s3-readonly (credential_type iam_user,
//     policy_document S3ReadOnlyPolicy), deploy-role (credential_type
//     assumed_role, role_arns DeployRoleARN) and ci-deploy
//     (credential_type federation_token, policy_document CIDeployPolicy),
//     the last two with the STS TTLs of WithSTSTTL.
//
// Calling it again (for example after vaulttest's Restart) is safe.
func SetupVaultAWS(t testing.TB, c *api.Client, f *FakeAWS, opts ...Option) {
	t.Helper()
	o := ttls{lease: "1h", leaseMax: "24h", stsDefault: "1h", stsMaxTTL: "4h"}
	for _, opt := range opts {
		opt(&o)
	}
	vaulttest.EnableSecrets(t, c, Mount, "aws", nil)
	write(t, c, Mount+"/config/root", map[string]any{
		"access_key":   RootAccessKey,
		"secret_key":   RootSecretKey,
		"region":       "us-east-1",
		"iam_endpoint": f.URL,
		"sts_endpoint": f.URL,
		"max_retries":  0,
	})
	write(t, c, Mount+"/config/lease", map[string]any{"lease": o.lease, "lease_max": o.leaseMax})
	write(t, c, Mount+"/roles/"+IAMUserRole, map[string]any{
		"credential_type": "iam_user",
		"policy_document": S3ReadOnlyPolicy,
	})
	write(t, c, Mount+"/roles/"+AssumedRole, map[string]any{
		"credential_type": "assumed_role",
		"role_arns":       []string{DeployRoleARN},
		"default_sts_ttl": o.stsDefault,
		"max_sts_ttl":     o.stsMaxTTL,
	})
	write(t, c, Mount+"/roles/"+FederationRole, map[string]any{
		"credential_type": "federation_token",
		"policy_document": CIDeployPolicy,
		"default_sts_ttl": o.stsDefault,
		"max_sts_ttl":     o.stsMaxTTL,
	})
}

// write is Logical().Write that fails the test on error.
func write(t testing.TB, c *api.Client, path string, data map[string]any) {
	t.Helper()
	if _, err := c.Logical().Write(path, data); err != nil {
		t.Fatalf("awstest: write %s: %v", path, err)
	}
}
