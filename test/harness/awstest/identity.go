package awstest

import (
	"net/url"
	"testing"
	"time"
)

// Key is an AWS access key the fake knows, and who it signs as.
type Key struct {
	AccessKeyID, SecretAccessKey string
	// SessionToken is set for temporary credentials.
	SessionToken string
	// ARN is the principal GetCallerIdentity names for this key.
	ARN string
}

// NewUserKey creates the IAM user name (if it does not exist) with a new
// access key, as an administrator would for a machine outside AWS, and
// returns the key. The user's ARN is arn:aws:iam::123456789012:user/<name>.
func (f *FakeAWS) NewUserKey(t testing.TB, name string) Key {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[name]; !ok {
		if _, aerr := f.createUser(url.Values{"UserName": {name}}); aerr != nil {
			t.Fatalf("awstest: create user %s: %s", name, aerr.message)
		}
	}
	res, aerr := f.createAccessKey(url.Values{"UserName": {name}})
	if aerr != nil {
		t.Fatalf("awstest: create access key for %s: %s", name, aerr.message)
	}
	k := res.(createAccessKeyResult).AccessKey
	return Key{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, ARN: f.users[name].arn}
}

// RoleARN is the ARN of the role name in the fake's account. Every role
// exists: AssumeRole, AssumeRoleWithWebIdentity and GetRole accept any.
func RoleARN(name string) string { return "arn:aws:iam::" + AccountID + ":role/" + name }

type (
	xmlRole struct {
		Path                     string
		RoleName                 string
		RoleID                   string `xml:"RoleId"`
		Arn                      string
		CreateDate               string
		AssumeRolePolicyDocument string
	}
	getRoleResult struct{ Role xmlRole }
)

// getRole answers for any role name: Vault calls it to resolve a bound
// role ARN to the role's unique ID, which the UserId of the role's
// sessions (AROA...:session) then carries.
func (f *FakeAWS) getRole(form url.Values) (any, *apiError) {
	name := form.Get("RoleName")
	if name == "" {
		return nil, validationError("RoleName is required")
	}
	return getRoleResult{xmlRole{Path: "/", RoleName: name, RoleID: roleID(name), Arn: RoleARN(name),
		CreateDate: isoTime(time.Unix(0, 0)), AssumeRolePolicyDocument: url.QueryEscape(`{"Version":"2012-10-17","Statement":[]}`)}}, nil
}
