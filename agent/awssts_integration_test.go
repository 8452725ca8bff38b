package agent

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rotorproject/rotor/test/harness/awstest"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// stsSection matches one profile of the rendered credentials file.
var stsSection = regexp.MustCompile(`(?m)^\[(\w+)\]\naws_access_key_id = (\S+)\naws_secret_access_key = (\S+)\naws_session_token = (\S+)$`)

// stsKeys parses the profiles of a rendered credentials file.
func stsKeys(s string) map[string]awstest.Key {
	m := map[string]awstest.Key{}
	for _, g := range stsSection.FindAllStringSubmatch(s, -1) {
		m[g[1]] = awstest.Key{AccessKeyID: g[2], SecretAccessKey: g[3], SessionToken: g[4]}
	}
	return m
}

// The seed article's STS credential types, assumed_role (through
// aws/sts/ROLE with a ttl, a write) and federation_token (through
// aws/creds/ROLE), rendered into one AWS credentials file. STS leases are
// not renewable: rotor must fetch new credentials before the old ones
// expire, and never try to renew them. The fake STS issues 15s sessions
// (ShortenSTSLifetime: Vault cannot ask for less than 15 minutes) and
// checks every rendered key with a signed GetCallerIdentity.
func TestAWSSTSCredentialsRefetchedBeforeExpiry(t *testing.T) {
	srv := vaulttest.Start(t)
	root := srv.Client(t)
	fake := awstest.Start(t)
	awstest.SetupVaultAWS(t, root, fake, awstest.WithSTSTTL("15m", "1h"))
	const life = 15 * time.Second
	fake.ShortenSTSLifetime(life)
	out := filepath.Join(t.TempDir(), "credentials")
	r := startAgent(t, srv, appRoleAuth(t, root, `
path "aws/sts/deploy-role" { capabilities = ["update"] }
path "aws/creds/ci-deploy" { capabilities = ["read"] }`, nil)+fmt.Sprintf(`
template {
  contents    = <<EOT
[deploy]
{{ with secret "aws/sts/deploy-role" "ttl=15m" }}aws_access_key_id = {{ .Data.access_key }}
aws_secret_access_key = {{ .Data.secret_key }}
aws_session_token = {{ .Data.security_token }}
{{ end }}
[ci]
{{ with secret "aws/creds/ci-deploy" }}aws_access_key_id = {{ .Data.access_key }}
aws_secret_access_key = {{ .Data.secret_key }}
aws_session_token = {{ .Data.security_token }}
{{ end }}
EOT
  destination = %q
  perms       = "0600"
}`, out))
	first := stsKeys(waitContent(t, out, func(s string) bool { return len(stsKeys(s)) == 2 }, 30*time.Second))

	// What Vault asked STS for, signed with its root keys.
	sessions := map[string]awstest.STSSession{}
	for _, s := range fake.Sessions() {
		sessions[s.AccessKeyID] = s
	}
	deploy, ci := sessions[first["deploy"].AccessKeyID], sessions[first["ci"].AccessKeyID]
	if deploy.Action != "AssumeRole" || deploy.RoleARN != awstest.DeployRoleARN || deploy.Duration != 15*time.Minute {
		t.Errorf("[deploy] came from %+v, want AssumeRole of %s for the template's ttl=15m", deploy, awstest.DeployRoleARN)
	}
	if ci.Action != "GetFederationToken" || !strings.Contains(ci.Policy, "ecs:UpdateService") || ci.Duration != 15*time.Minute {
		t.Errorf("[ci] came from %+v, want GetFederationToken with the role's policy for its default_sts_ttl", ci)
	}
	for _, s := range []awstest.STSSession{deploy, ci} {
		if !strings.HasSuffix(s.CallerARN, ":user/vault-root") {
			t.Errorf("%s signed by %q, want Vault's root user", s.Action, s.CallerARN)
		}
	}
	wantARN := map[string]*regexp.Regexp{
		"deploy": regexp.MustCompile(`^arn:aws:sts::\d+:assumed-role/DeployRole/vault-approle-deploy-role-`),
		"ci":     regexp.MustCompile(`^arn:aws:sts::\d+:federated-user/vault-`),
	}
	checkKeys := func(keys map[string]awstest.Key) {
		t.Helper()
		for profile, k := range keys {
			if arn, err := fake.CallerIdentity(k); err != nil || !wantARN[profile].MatchString(arn) {
				t.Errorf("[%s] key signs as %q (%v), want %s", profile, arn, err, wantARN[profile])
			}
		}
	}
	checkKeys(first)

	// Each profile is replaced before its credentials expire.
	replaced := map[string]time.Time{}
	vaulttest.Eventually(t, 2*life, func() error {
		now := stsKeys(readFile(t, out))
		for profile, k := range first {
			if _, seen := replaced[profile]; !seen && now[profile].AccessKeyID != "" && now[profile].AccessKeyID != k.AccessKeyID {
				replaced[profile] = time.Now()
			}
		}
		if len(replaced) < 2 {
			return fmt.Errorf("replaced so far: %v", replaced)
		}
		return nil
	})
	for profile, at := range replaced {
		exp := sessions[first[profile].AccessKeyID].Expiration
		if !at.Before(exp) {
			t.Errorf("[%s] replaced at %s, after its credentials expired at %s", profile, at.Format(time.TimeOnly), exp.Format(time.TimeOnly))
		}
		t.Logf("[%s] replaced %v before its credentials expired", profile, exp.Sub(at).Round(100*time.Millisecond))
	}
	second := stsKeys(readFile(t, out))
	checkKeys(second)
	// One new session each: replaced once, not fetched again and again.
	count := map[string]int{}
	for _, s := range fake.Sessions() {
		count[s.Action]++
	}
	if count["AssumeRole"] > 2 || count["GetFederationToken"] > 2 {
		t.Errorf("STS sessions %v, want 2 of each", count)
	}
	// No renewal of an STS lease was attempted (Vault would refuse it).
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "aws/") && (strings.Contains(line, "lease renewed") || strings.Contains(line, "not renewable")) {
			t.Errorf("rotor tried to renew an STS lease: %s", line)
		}
	}
	// The first credentials end as STS said: the fake refuses them then.
	vaulttest.Eventually(t, life, func() error {
		for profile, k := range first {
			_, err := fake.CallerIdentity(k)
			if err == nil {
				return fmt.Errorf("[%s] the first key is still valid", profile)
			}
			if !strings.Contains(err.Error(), "ExpiredToken") {
				return err
			}
		}
		return nil
	})
}
