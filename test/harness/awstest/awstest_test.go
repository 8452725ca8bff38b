package awstest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/test/harness/vaulttest"
)

// post sends one Query API request to the fake and returns status and body.
func post(t *testing.T, f *FakeAWS, params ...string) (int, string) {
	t.Helper()
	form := url.Values{"Version": {"2010-05-08"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	resp, err := http.PostForm(f.URL, form)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFakeProtocol(t *testing.T) {
	f := Start(t)
	code, body := post(t, f, "Action", "CreateUser", "UserName", "u1")
	if code != http.StatusOK || !strings.Contains(body, `<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateUserResult><User><Path>/</Path><UserName>u1</UserName>`) {
		t.Errorf("CreateUser: %d %s", code, body)
	}
	code, body = post(t, f, "Action", "CreateUser", "UserName", "u1")
	if code != http.StatusConflict || !strings.Contains(body, "<Code>EntityAlreadyExists</Code>") {
		t.Errorf("CreateUser again: %d %s", code, body)
	}
	code, body = post(t, f, "Action", "ListAccessKeys", "UserName", "u1")
	if code != http.StatusOK || !strings.Contains(body, "<ListAccessKeysResult><AccessKeyMetadata></AccessKeyMetadata>") {
		t.Errorf("ListAccessKeys: %d %s", code, body)
	}
	post(t, f, "Action", "CreateAccessKey", "UserName", "u1")
	code, body = post(t, f, "Action", "DeleteUser", "UserName", "u1")
	if code != http.StatusConflict || !strings.Contains(body, "<Code>DeleteConflict</Code>") {
		t.Errorf("DeleteUser with a key: %d %s", code, body)
	}
	code, body = post(t, f, "Action", "GetUser", "UserName", "nobody")
	if code != http.StatusNotFound || !strings.Contains(body, "<ErrorResponse") || !strings.Contains(body, "<Code>NoSuchEntity</Code>") {
		t.Errorf("GetUser nobody: %d %s", code, body)
	}
	code, body = post(t, f, "Action", "CreateRole")
	if code != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidAction</Code>") {
		t.Errorf("unsupported action: %d %s", code, body)
	}
	if got := f.Users(); !slices.Equal(got, []string{"u1"}) {
		t.Errorf("Users = %q", got)
	}
	if got := f.AccessKeys(); len(got) != 1 || !strings.HasPrefix(got[0], "AKIA") || len(got[0]) != 20 {
		t.Errorf("AccessKeys = %q, want one AKIA key of 20 characters", got)
	}
}

func TestVaultAWS(t *testing.T) {
	f := Start(t)
	srv := vaulttest.Start(t)
	c := srv.Client(t)
	SetupVaultAWS(t, c, f)

	t.Run("iam_user", func(t *testing.T) {
		s := read(t, c, Mount+"/creds/"+IAMUserRole)
		access, _ := s.Data["access_key"].(string)
		if !slices.Equal(f.AccessKeys(), []string{access}) {
			t.Fatalf("access_key %q, fake's live keys %q", access, f.AccessKeys())
		}
		if secret, _ := s.Data["secret_key"].(string); len(secret) != 40 {
			t.Errorf("secret_key has %d characters, want 40", len(secret))
		}
		if !s.Renewable || s.LeaseDuration != 3600 {
			t.Errorf("lease: renewable %v, %ds; want renewable, 3600s", s.Renewable, s.LeaseDuration)
		}
		users := f.Users()
		// Vault's default username template: vault-<display name>-<role>-
		// <unix time>-<random>; a root token's display name is "token".
		if len(users) != 1 || !strings.HasPrefix(users[0], "vault-token-"+IAMUserRole+"-") {
			t.Fatalf("Users = %q, want one vault-token-%s-...", users, IAMUserRole)
		}
		u, _ := f.User(users[0])
		if !jsonEqual(u.InlinePolicies[IAMUserRole], S3ReadOnlyPolicy) || !slices.Equal(u.AccessKeyIDs, []string{access}) {
			t.Errorf("user %+v: want inline policy %s = S3ReadOnlyPolicy and key %s", u, IAMUserRole, access)
		}

		r, err := c.Sys().Renew(s.LeaseID, 0)
		if err != nil || r.LeaseDuration != 3600 {
			t.Errorf("renew: %v, duration %v", err, r)
		}
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if got := f.Users(); got != nil {
			t.Errorf("after revoke: users %q", got)
		}
		if got := f.AccessKeys(); got != nil {
			t.Errorf("after revoke: keys %q", got)
		}
		want := []string{"CreateUser", "PutUserPolicy", "CreateAccessKey",
			"ListGroupsForUser", "ListUserPolicies", "ListAttachedUserPolicies", "ListAccessKeys",
			"DeleteAccessKey", "DeleteUserPolicy", "DeleteUser"}
		if got := f.Actions(); !slices.Equal(got, want) {
			t.Errorf("actions:\n got %q\nwant %q", got, want)
		}
	})

	t.Run("assumed_role", func(t *testing.T) {
		s := read(t, c, Mount+"/creds/"+AssumedRole)
		access, _ := s.Data["access_key"].(string)
		token, _ := s.Data["security_token"].(string)
		if !strings.HasPrefix(access, "ASIA") || token == "" || s.Data["session_token"] != token {
			t.Errorf("data %v: want an ASIA key and security_token = session_token", keys(s.Data))
		}
		// The lease lasts until the credentials expire, which STS states in
		// whole seconds: a second may be lost.
		if s.Renewable || s.LeaseDuration < 3599 || s.LeaseDuration > 3600 {
			t.Errorf("lease: renewable %v, %ds; want not renewable, 3599-3600s", s.Renewable, s.LeaseDuration)
		}
		if _, err := c.Sys().Renew(s.LeaseID, 0); err == nil || !strings.Contains(err.Error(), "not renewable") {
			t.Errorf("renew: err = %v, want lease is not renewable", err)
		}
		ss := f.Sessions()
		if len(ss) != 1 || ss[0].RoleARN != DeployRoleARN || ss[0].AccessKeyID != access || ss[0].Duration != time.Hour {
			t.Errorf("sessions = %+v, want one AssumeRole of %s for 1h", ss, DeployRoleARN)
		}
		// Revoking an STS lease succeeds and calls nothing: STS credentials
		// cannot be revoked.
		n := len(f.Actions())
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Errorf("revoke: %v", err)
		}
		if got := f.Actions()[n:]; len(got) != 0 {
			t.Errorf("revoke called %q", got)
		}
	})

	t.Run("ttls", func(t *testing.T) {
		SetupVaultAWS(t, c, f, WithLease("20s", "1m"), WithSTSTTL("15m", "20m"))
		s := read(t, c, Mount+"/creds/"+IAMUserRole)
		if s.LeaseDuration != 20 {
			t.Errorf("iam_user lease %ds, want 20s", s.LeaseDuration)
		}
		if err := c.Sys().Revoke(s.LeaseID); err != nil {
			t.Errorf("revoke: %v", err)
		}
		s = read(t, c, Mount+"/creds/"+AssumedRole)
		if s.LeaseDuration < 899 || s.LeaseDuration > 900 {
			t.Errorf("assumed_role lease %ds, want 899-900s", s.LeaseDuration)
		}
		// A ttl above max_sts_ttl is cut down to it.
		s, err := c.Logical().ReadWithData(Mount+"/creds/"+AssumedRole, map[string][]string{"ttl": {"1h"}})
		if err != nil || s.LeaseDuration < 1199 || s.LeaseDuration > 1200 {
			t.Errorf("assumed_role with ttl=1h: err %v, lease %v; want 1199-1200s", err, s)
		}
		// aws-sdk-go refuses DurationSeconds below 900 before sending
		// anything: an assumed_role lease cannot be shorter than 15 minutes.
		n := len(f.Actions())
		_, err = c.Logical().ReadWithData(Mount+"/creds/"+AssumedRole, map[string][]string{"ttl": {"14m"}})
		if err == nil || !strings.Contains(err.Error(), "minimum field value of 900") {
			t.Errorf("assumed_role with ttl=14m: err = %v, want the SDK's minimum of 900", err)
		}
		if got := f.Actions()[n:]; len(got) != 0 {
			t.Errorf("ttl=14m reached the fake: %q", got)
		}
	})

	t.Run("failure", func(t *testing.T) {
		f.FailAction("CreateAccessKey", http.StatusForbidden, "AccessDenied")
		_, err := c.Logical().Read(Mount + "/creds/" + IAMUserRole)
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("read with CreateAccessKey failing: err = %v, want AccessDenied", err)
		}
		// Vault leaves the user it made behind; its WAL rollback deletes it
		// only once the entry is 5 minutes old.
		orphans := f.Users()
		if len(orphans) != 1 {
			t.Errorf("after the failed read: users %q, want the one Vault created", orphans)
		}
		f.FailAction("CreateAccessKey", 0, "")
		s := read(t, c, Mount+"/creds/"+IAMUserRole)
		if got := f.AccessKeys(); !slices.Equal(got, []string{s.Data["access_key"].(string)}) {
			t.Errorf("after clearing the failure: keys %q", got)
		}
	})
}

func read(t *testing.T, c *api.Client, path string) *api.Secret {
	t.Helper()
	s, err := c.Logical().Read(path)
	if err != nil || s == nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return s
}

func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
