package agent

import (
	"slices"
	"strings"
	"testing"

	"github.com/rotorproject/rotor/agent/config"
)

// awsCredentialEnvForTest are the AWS credentials an aws auth method reads from
// rotor's environment.
var awsCredentialEnvForTest = map[string]string{
	"AWS_ACCESS_KEY_ID":                 "AKIAROTOROWN0000000",
	"AWS_SECRET_ACCESS_KEY":             "rotor-own-secret-key-0123456789",
	"AWS_ACCESS_KEY":                    "AKIAROTOROWNLEGACY0",
	"AWS_SECRET_KEY":                    "rotor-own-legacy-secret-0123456789",
	"AWS_SESSION_TOKEN":                 "rotor-own-session-token-0123456789",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN": "rotor-own-container-auth-0123456789",
}

// The AWS credentials rotor read from its environment to log in (the aws
// method) are not handed to reload commands and the supervised child, as
// VAULT_TOKEN is not; an env_template may pass one on explicitly (its
// value wins over the base environment, supervise.mergeEnv). Paths
// (AWS_WEB_IDENTITY_TOKEN_FILE) are no credentials and stay. With another
// method rotor reads none of them: they are the application's, and stay.
func TestChildrenDoNotInheritRotorsAWSCredentials(t *testing.T) {
	for k, v := range awsCredentialEnvForTest {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/eks/token")
	t.Setenv("AWS_REGION", "eu-west-1")
	aws := translate(&config.Config{AutoAuth: &config.AutoAuth{Method: &config.Method{Type: "aws", MountPath: "auth/aws",
		AWS: &config.AWS{Type: "iam", Role: "r"}}}})
	env := strings.Join(aws.childEnv(), "\n")
	for k, v := range awsCredentialEnvForTest {
		if strings.Contains(env, k+"=") || strings.Contains(env, v) {
			t.Errorf("a child inherits %s", k)
		}
	}
	for _, keep := range []string{"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks/token", "AWS_REGION=eu-west-1"} {
		if !slices.Contains(aws.childEnv(), keep) {
			t.Errorf("a child lacks %s", keep)
		}
	}
	other := translate(&config.Config{AutoAuth: &config.AutoAuth{Method: &config.Method{Type: "approle", MountPath: "auth/approle",
		AppRole: &config.AppRole{RoleIDFilePath: "/r"}}}})
	for k, v := range awsCredentialEnvForTest {
		if !slices.Contains(other.childEnv(), k+"="+v) {
			t.Errorf("with approle, the application's %s was taken from the child", k)
		}
	}
}
