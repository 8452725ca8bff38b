package awstest

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

var rootKey = Key{AccessKeyID: RootAccessKey, SecretAccessKey: RootSecretKey}

// stsKey returns the temporary key in an aws/creds or aws/sts answer.
func stsKey(s *api.Secret) Key {
	k := Key{}
	k.AccessKeyID, _ = s.Data["access_key"].(string)
	k.SecretAccessKey, _ = s.Data["secret_key"].(string)
	k.SessionToken, _ = s.Data["security_token"].(string)
	return k
}

// lastSession returns the fake's newest STS session.
func lastSession(t *testing.T, f *FakeAWS) STSSession {
	t.Helper()
	ss := f.Sessions()
	if len(ss) == 0 {
		t.Fatal("no STS session")
	}
	return ss[len(ss)-1]
}

// Vault's federation_token and assumed_role credential types, through
// both of their paths, against the fake: what Vault asked STS for, what
// lease it made, and that the keys it handed out sign requests the fake
// accepts, until they expire.
func TestVaultSTSCredentialTypes(t *testing.T) {
	f := Start(t)
	srv := vaulttest.Start(t)
	c := srv.Client(t)
	SetupVaultAWS(t, c, f, WithSTSTTL("15m", "1h"))

	check := func(t *testing.T, s *api.Secret, action, arn *regexp.Regexp, asked time.Duration) STSSession {
		t.Helper()
		if s.Renewable || s.LeaseDuration < int(asked.Seconds())-1 || s.LeaseDuration > int(asked.Seconds()) {
			t.Errorf("lease: renewable %v, %ds; want not renewable, %v", s.Renewable, s.LeaseDuration, asked)
		}
		k := stsKey(s)
		got, err := f.CallerIdentity(k)
		if err != nil || !arn.MatchString(got) {
			t.Errorf("the issued key signs as %q (%v), want %s", got, err, arn)
		}
		ss := lastSession(t, f)
		if !action.MatchString(ss.Action) || ss.AccessKeyID != k.AccessKeyID || ss.Duration != asked || ss.CallerARN != rootARN {
			t.Errorf("session %+v: want %s of %v, signed by Vault's root user, for the key Vault returned", ss, action, asked)
		}
		return ss
	}
	federated := regexp.MustCompile(`^arn:aws:sts::` + AccountID + `:federated-user/vault-\d+-\w+$`)
	assumed := regexp.MustCompile(`^arn:aws:sts::` + AccountID + `:assumed-role/DeployRole/vault-token-deploy-role-\d+-\w+$`)

	t.Run("federation_token", func(t *testing.T) {
		ss := check(t, read(t, c, Mount+"/creds/"+FederationRole), regexp.MustCompile("^GetFederationToken$"), federated, 15*time.Minute)
		if !jsonEqual(ss.Policy, CIDeployPolicy) {
			t.Errorf("session policy %s, want the role's policy_document", ss.Policy)
		}
		// aws/sts/ROLE takes a ttl, up to max_sts_ttl.
		s, err := c.Logical().Write(Mount+"/sts/"+FederationRole, map[string]any{"ttl": "20m"})
		if err != nil || s == nil {
			t.Fatalf("write aws/sts/%s: %v", FederationRole, err)
		}
		check(t, s, regexp.MustCompile("^GetFederationToken$"), federated, 20*time.Minute)
	})

	t.Run("assumed_role", func(t *testing.T) {
		s, err := c.Logical().Write(Mount+"/sts/"+AssumedRole, map[string]any{"ttl": "30m"})
		if err != nil || s == nil {
			t.Fatalf("write aws/sts/%s: %v", AssumedRole, err)
		}
		ss := check(t, s, regexp.MustCompile("^AssumeRole$"), assumed, 30*time.Minute)
		if ss.RoleARN != DeployRoleARN || s.Data["arn"] != mustCaller(t, f, stsKey(s)) {
			t.Errorf("session of %s, answer arn %v", ss.RoleARN, s.Data["arn"])
		}
	})

	t.Run("shortened", func(t *testing.T) {
		f.ShortenSTSLifetime(3 * time.Second)
		defer f.ShortenSTSLifetime(0)
		for _, role := range []string{AssumedRole, FederationRole} {
			s := read(t, c, Mount+"/creds/"+role)
			if s.LeaseDuration > 3 {
				t.Errorf("%s: lease %ds, want at most the fake's 3s", role, s.LeaseDuration)
			}
			ss := lastSession(t, f)
			if ss.Duration != 15*time.Minute || time.Until(ss.Expiration) > 3*time.Second {
				t.Errorf("%s: session asked %v, expires in %v; want 15m asked, at most 3s given", role, ss.Duration, time.Until(ss.Expiration))
			}
			k := stsKey(s)
			if _, err := f.CallerIdentity(k); err != nil {
				t.Errorf("%s: fresh key refused: %v", role, err)
			}
			vaulttest.Eventually(t, 10*time.Second, func() error {
				_, err := f.CallerIdentity(k)
				switch {
				case err == nil:
					return errors.New("the key is still valid")
				case !strings.Contains(err.Error(), "ExpiredToken"):
					return err
				}
				return nil
			})
			if strings.Contains(errString(f.CallerIdentity(k)), k.SecretAccessKey) {
				t.Errorf("%s: the error holds the secret key", role)
			}
		}
	})
}

func mustCaller(t *testing.T, f *FakeAWS, k Key) string {
	t.Helper()
	arn, err := f.CallerIdentity(k)
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

func errString(_ string, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The fake refuses STS requests that STS refuses, with STS's codes.
func TestSTSRefusals(t *testing.T) {
	f := Start(t)
	sts := func(k Key, params string) (int, string) {
		t.Helper()
		code, b, err := f.signedPost(k, "Version=2011-06-15&"+params)
		if err != nil {
			t.Fatal(err)
		}
		return code, errorCode(b)
	}
	code, _ := sts(rootKey, "Action=GetFederationToken&Name=ci&DurationSeconds=900")
	if code != http.StatusOK {
		t.Fatalf("GetFederationToken with the root key: %d", code)
	}
	session := lastSession(t, f)
	if session.CallerARN != rootARN || session.SessionName != "ci" {
		t.Errorf("session %+v", session)
	}
	temp := Key{AccessKeyID: session.AccessKeyID, SecretAccessKey: f.keys[session.AccessKeyID].secret, SessionToken: f.keys[session.AccessKeyID].sessionToken}
	for _, tc := range []struct {
		key    Key
		params string
		status int
		code   string
	}{
		{temp, "Action=GetFederationToken&Name=ci", http.StatusForbidden, "AccessDenied"},
		{temp, "Action=GetSessionToken", http.StatusForbidden, "AccessDenied"},
		{temp, "Action=AssumeRole&RoleArn=" + DeployRoleARN + "&RoleSessionName=chained", http.StatusOK, ""},
		{rootKey, "Action=GetFederationToken&Name=c", http.StatusBadRequest, "ValidationError"},
		{rootKey, "Action=GetFederationToken&Name=has%20space", http.StatusBadRequest, "ValidationError"},
		{rootKey, "Action=GetFederationToken&Name=ci&DurationSeconds=899", http.StatusBadRequest, "ValidationError"},
		{rootKey, "Action=GetFederationToken&Name=ci&DurationSeconds=129601", http.StatusBadRequest, "ValidationError"},
		{rootKey, "Action=AssumeRole&RoleArn=" + DeployRoleARN + "&RoleSessionName=s1&DurationSeconds=43201", http.StatusBadRequest, "ValidationError"},
		{rootKey, "Action=AssumeRole&RoleArn=" + DeployRoleARN + "&RoleSessionName=s1&DurationSeconds=43200", http.StatusOK, ""},
		{Key{AccessKeyID: RootAccessKey, SecretAccessKey: "wrong"}, "Action=AssumeRole&RoleArn=" + DeployRoleARN + "&RoleSessionName=s1", http.StatusForbidden, "SignatureDoesNotMatch"},
		{Key{AccessKeyID: "AKIANOBODY0000000000", SecretAccessKey: "x"}, "Action=GetSessionToken", http.StatusForbidden, "InvalidClientTokenId"},
	} {
		if status, code := sts(tc.key, tc.params); status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.params, status, code, tc.status, tc.code)
		}
	}
	// Unsigned, as before this fake checked them: refused.
	if status, body := post(t, f, "Action", "AssumeRole", "RoleArn", DeployRoleARN, "RoleSessionName", "s1"); status != http.StatusForbidden ||
		!strings.Contains(body, "MissingAuthenticationToken") {
		t.Errorf("unsigned AssumeRole: %d %s", status, body)
	}
	// PackedPolicySize comes with a session policy only.
	_, b, _ := f.signedPost(rootKey, "Version=2011-06-15&Action=GetFederationToken&Name=ci&Policy=%7B%7D")
	if !strings.Contains(string(b), "<PackedPolicySize>1</PackedPolicySize>") || !strings.Contains(string(b), "<FederatedUserId>"+AccountID+":ci</FederatedUserId>") {
		t.Errorf("GetFederationToken with a policy: %s", b)
	}
}
