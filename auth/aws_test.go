package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth/internal/awscred"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/test/harness/awstest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// awsVault is a real Vault whose aws auth method (at auth/aws) talks to a
// fake AWS, which checks the signatures Vault forwards.
type awsVault struct {
	srv  *vaulttest.Server
	root *api.Client
	aws  *awstest.FakeAWS
}

func startAWSVault(t *testing.T, serverID string) *awsVault {
	t.Helper()
	v := &awsVault{srv: vaulttest.Start(t), aws: awstest.Start(t)}
	v.root = v.srv.Client(t)
	awstest.SetupVaultAWSAuth(t, v.root, v.aws, "aws", serverID)
	// Put who logged in into the token's metadata, for the assertions.
	if _, err := v.root.Logical().Write("auth/aws/config/identity", map[string]any{
		"iam_metadata": []string{"client_arn", "auth_type"}, "ec2_metadata": []string{"instance_id", "region", "ami_id"},
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func (v *awsVault) role(t *testing.T, name string, data map[string]any) {
	t.Helper()
	data["token_ttl"] = "1h"
	if _, err := v.root.Logical().Write("auth/aws/role/"+name, data); err != nil {
		t.Fatalf("write role %s: %v", name, err)
	}
}

// method builds the aws method with env as its whole environment.
func awsMethodWith(t *testing.T, o AWSOptions, env map[string]string) *awsMethod {
	t.Helper()
	m, err := newAWS("auth/aws", o, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := m.(*awsMethod)
	a.env = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	a.chain.Env = a.env
	a.imds = awscred.NewIMDS(a.env, awscred.LocalClient())
	return a
}

// login logs in and checks the token works and belongs to role.
func (v *awsVault) login(t *testing.T, m Method) (*api.Secret, error) {
	t.Helper()
	c, err := v.root.CloneWithHeaders()
	if err != nil {
		t.Fatal(err)
	}
	c.ClearToken()
	s, err := m.Login(context.Background(), c)
	if err != nil {
		return nil, err
	}
	look, err := v.root.Auth().Token().Lookup(s.Auth.ClientToken)
	if err != nil {
		t.Fatalf("the token does not work: %v", err)
	}
	if look.Data["path"] != "auth/aws/login" {
		t.Fatalf("token made at %v", look.Data["path"])
	}
	return s, nil
}

func TestAWSIAMLoginWithStaticKeys(t *testing.T) {
	v := startAWSVault(t, "vault.example.com")
	key := v.aws.NewUserKey(t, "ci-runner")
	v.role(t, "ci", map[string]any{"auth_type": "iam", "bound_iam_principal_arn": key.ARN})
	opts := AWSOptions{Type: "iam", Role: "ci", AccessKey: key.AccessKeyID, SecretKey: key.SecretAccessKey, HeaderValue: "vault.example.com"}
	s, err := v.login(t, awsMethodWith(t, opts, map[string]string{"HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth.Metadata["client_arn"] != key.ARN {
		t.Fatalf("logged in as %v, want %s", s.Auth.Metadata["client_arn"], key.ARN)
	}
	reqs := v.aws.CallerIdentityRequests()
	last := reqs[len(reqs)-1]
	if last.AccessKeyID != key.AccessKeyID || last.Host != "sts.amazonaws.com" || last.Region != "us-east-1" ||
		last.ServerID != "vault.example.com" || !strings.Contains(strings.Join(last.SignedHeaders, ";"), "x-vault-aws-iam-server-id") {
		t.Fatalf("the request Vault forwarded: %+v", last)
	}

	// Vault refuses a login signed for another Vault (header_value), and
	// one with a wrong secret key (STS refuses the signature).
	bad := opts
	bad.HeaderValue = "other-vault"
	if _, err := v.login(t, awsMethodWith(t, bad, nil)); err == nil || !strings.Contains(err.Error(), "X-Vault-AWS-IAM-Server-ID") {
		t.Fatalf("wrong header_value: %v", err)
	}
	bad = opts
	bad.SecretKey = "wrong-secret"
	_, err = v.login(t, awsMethodWith(t, bad, nil))
	if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret key: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatal("the error shows the secret key")
	}
	// Another signing region: the credential scope follows it.
	other := opts
	other.Region = "eu-west-1"
	if _, err := v.login(t, awsMethodWith(t, other, nil)); err != nil {
		t.Fatal(err)
	}
	reqs = v.aws.CallerIdentityRequests()
	if last := reqs[len(reqs)-1]; last.Region != "eu-west-1" || last.Host != "sts.amazonaws.com" {
		t.Fatalf("region eu-west-1: %+v", last)
	}
}

// On EKS (IRSA) the pod's role comes from its projected token; on EC2 the
// instance profile's from IMDS. Vault resolves each bound role ARN to the
// role's unique ID (GetRole) and matches the session's.
func TestAWSIAMLoginWithWebIdentityAndInstanceProfile(t *testing.T) {
	v := startAWSVault(t, "")
	v.role(t, "pod", map[string]any{"auth_type": "iam", "bound_iam_principal_arn": awstest.RoleARN("PodRole")})
	v.role(t, "node", map[string]any{"auth_type": "iam", "bound_iam_principal_arn": awstest.RoleARN("NodeRole")})
	imds := v.aws.StartIMDS(t, awstest.Instance{ID: "i-0aaa", ImageID: "ami-1", Role: "NodeRole"})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("projected-sa-token"), 0o600)
	v.aws.TrustWebIdentityToken("projected-sa-token")
	env := map[string]string{"HOME": dir, "AWS_ROLE_ARN": awstest.RoleARN("PodRole"), "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
		"AWS_ENDPOINT_URL_STS": v.aws.URL, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL}
	s, err := v.login(t, awsMethodWith(t, AWSOptions{Type: "iam", Role: "pod"}, env))
	if err != nil {
		t.Fatal(err)
	}
	if arn, _ := s.Auth.Metadata["client_arn"]; !strings.Contains(arn, ":assumed-role/PodRole/rotor-") {
		t.Fatalf("pod login as %s", arn)
	}
	// The node's role may not log in with the pod's role binding...
	delete(env, "AWS_ROLE_ARN")
	if _, err := v.login(t, awsMethodWith(t, AWSOptions{Type: "iam", Role: "pod"}, env)); err == nil || !strings.Contains(err.Error(), "does not belong to the role") {
		t.Fatalf("node credentials on the pod role: %v", err)
	}
	// ...but with its own.
	s, err = v.login(t, awsMethodWith(t, AWSOptions{Type: "iam", Role: "node"}, env))
	if err != nil {
		t.Fatal(err)
	}
	if arn := s.Auth.Metadata["client_arn"]; arn != "arn:aws:sts::"+awstest.AccountID+":assumed-role/NodeRole/i-0aaa" {
		t.Fatalf("node login as %s", arn)
	}
}

func TestAWSEC2Login(t *testing.T) {
	v := startAWSVault(t, "")
	imds := v.aws.StartIMDS(t, awstest.Instance{ID: "i-0bbb", ImageID: "ami-0123", Region: "eu-west-3"})
	awstest.RegisterIdentityCertificate(t, v.root, "aws", imds)
	v.role(t, "web", map[string]any{"auth_type": "ec2", "bound_ami_id": "ami-0123"})
	env := map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL}
	m := awsMethodWith(t, AWSOptions{Type: "ec2", Role: "web"}, env)
	s, err := v.login(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth.Metadata["instance_id"] != "i-0bbb" || s.Auth.Metadata["region"] != "eu-west-3" {
		t.Fatalf("metadata %v", s.Auth.Metadata)
	}
	if m.nonce == "" || !m.madeUp {
		t.Fatal("no nonce made up")
	}
	// Logging in again from the same run reuses the nonce: accepted.
	if _, err := v.login(t, m); err != nil {
		t.Fatalf("second login: %v", err)
	}
	// A restart without a configured nonce makes up another: Vault
	// refuses it, and the error says what to do.
	_, err = v.login(t, awsMethodWith(t, AWSOptions{Type: "ec2", Role: "web"}, env))
	if err == nil || !strings.Contains(err.Error(), "client nonce mismatch") || !strings.Contains(err.Error(), "set the method's nonce") {
		t.Fatalf("new nonce: %v", err)
	}
	// A configured nonce survives restarts.
	if _, err := v.root.Logical().Delete("auth/aws/identity-accesslist/i-0bbb"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := v.login(t, awsMethodWith(t, AWSOptions{Type: "ec2", Role: "web", Nonce: "kept-nonce"}, env)); err != nil {
			t.Fatalf("configured nonce: %v", err)
		}
	}
	for _, r := range imds.Requests() {
		if strings.HasPrefix(r, "GET") && !strings.HasSuffix(r, "(token)") {
			t.Fatalf("IMDS read without a session token: %s", r)
		}
	}
	// A role for another image refuses this instance.
	v.role(t, "other", map[string]any{"auth_type": "ec2", "bound_ami_id": "ami-9999"})
	_, err = v.login(t, awsMethodWith(t, AWSOptions{Type: "ec2", Role: "other", Nonce: "kept-nonce"}, env))
	if err == nil || !strings.Contains(err.Error(), "ami-0123") {
		t.Fatalf("other image's role: %v", err)
	}
}

func TestAWSMethodOptions(t *testing.T) {
	for _, o := range []AWSOptions{{Type: "gce", Role: "r"}, {Type: "iam"}, {Type: "iam", Role: "r", AccessKey: "AKIA"}} {
		if _, err := NewMethod(MethodOptions{Type: "aws", MountPath: "auth/aws", AWS: &o}, vaultclientConfig(), nil); err == nil {
			t.Errorf("%v: accepted", o)
		}
	}
	o := AWSOptions{Type: "iam", Role: "r", AccessKey: "AKIA", SecretKey: "very-secret", SessionToken: "tok", Nonce: "n0nce"}
	for _, s := range []string{o.String(), o.GoString()} {
		if strings.Contains(s, "very-secret") || strings.Contains(s, "tok)") || strings.Contains(s, "n0nce") {
			t.Fatalf("options print a secret: %s", s)
		}
	}
	// Without any credentials, the login fails as a credentials error.
	m := awsMethodWith(t, AWSOptions{Type: "iam", Role: "r"}, map[string]string{"HOME": t.TempDir(), "AWS_EC2_METADATA_DISABLED": "true"})
	c, _ := api.NewClient(&api.Config{Address: "http://127.0.0.1:1"})
	if _, err := m.Login(context.Background(), c); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "no AWS credentials found") {
		t.Fatalf("no credentials: %v", err)
	}
}

func vaultclientConfig() vaultclient.Config { return vaultclient.Config{} }
