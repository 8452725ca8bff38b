package awstest

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// defaultSTSDuration is STS's DurationSeconds when the request has none.
const defaultSTSDuration = time.Hour

// Result shapes of the STS actions, named as in the STS API reference.
type (
	xmlCredentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	assumeRoleResult struct {
		Credentials     xmlCredentials
		AssumedRoleUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string
		}
	}
	getFederationTokenResult struct {
		Credentials   xmlCredentials
		FederatedUser struct {
			FederatedUserID string `xml:"FederatedUserId"`
			Arn             string
		}
	}
	getSessionTokenResult struct {
		Credentials xmlCredentials
	}
	getCallerIdentityResult struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	}
)

// getCallerIdentity answers as the user Vault's root keys belong to. Vault
// calls it to check each STS endpoint before using it.
func (f *FakeAWS) getCallerIdentity(url.Values) (any, *apiError) {
	return getCallerIdentityResult{
		Arn:     "arn:aws:iam::" + AccountID + ":user/vault-root",
		UserID:  "AIDAFAKEVAULTROOT0000",
		Account: AccountID,
	}, nil
}

// assumeRole issues credentials for any role ARN of the form
// arn:aws:iam::<account>:role/<name>; the fake has no trust policies.
func (f *FakeAWS) assumeRole(form url.Values) (any, *apiError) {
	roleARN, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	_, roleName, ok := strings.Cut(roleARN, ":role/")
	if !strings.HasPrefix(roleARN, "arn:aws:iam::") || !ok || roleName == "" {
		return nil, validationError("RoleArn is not a role ARN: " + roleARN)
	}
	if session == "" || len(session) > 64 {
		return nil, validationError("RoleSessionName must have 2 to 64 characters")
	}
	creds, aerr := f.issue("AssumeRole", roleARN, session, form)
	if aerr != nil {
		return nil, aerr
	}
	res := assumeRoleResult{Credentials: creds}
	roleName = roleName[strings.LastIndex(roleName, "/")+1:] // drop a role path
	res.AssumedRoleUser.AssumedRoleID = randID("AROA", 17) + ":" + session
	res.AssumedRoleUser.Arn = "arn:aws:sts::" + AccountID + ":assumed-role/" + roleName + "/" + session
	return res, nil
}

func (f *FakeAWS) getFederationToken(form url.Values) (any, *apiError) {
	name := form.Get("Name")
	if name == "" || len(name) > 32 {
		return nil, validationError("Name must have 2 to 32 characters")
	}
	creds, aerr := f.issue("GetFederationToken", "", name, form)
	if aerr != nil {
		return nil, aerr
	}
	res := getFederationTokenResult{Credentials: creds}
	res.FederatedUser.FederatedUserID = AccountID + ":" + name
	res.FederatedUser.Arn = "arn:aws:sts::" + AccountID + ":federated-user/" + name
	return res, nil
}

func (f *FakeAWS) getSessionToken(form url.Values) (any, *apiError) {
	creds, aerr := f.issue("GetSessionToken", "", "", form)
	if aerr != nil {
		return nil, aerr
	}
	return getSessionTokenResult{Credentials: creds}, nil
}

// issue makes temporary credentials lasting DurationSeconds and records
// them. Any positive duration is accepted; aws-sdk-go itself refuses to
// send less than 900 seconds.
func (f *FakeAWS) issue(action, roleARN, session string, form url.Values) (xmlCredentials, *apiError) {
	d := defaultSTSDuration
	if s := form.Get("DurationSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return xmlCredentials{}, validationError("DurationSeconds must be a positive integer: " + s)
		}
		d = time.Duration(n) * time.Second
	}
	exp := time.Now().Add(d).Truncate(time.Second) // the wire format has whole seconds
	c := xmlCredentials{
		AccessKeyID:     randID("ASIA", 16),
		SecretAccessKey: randSecret(),
		SessionToken:    "FwoGZXIvYXdzE" + randID("", 120),
		Expiration:      isoTime(exp),
	}
	f.sessions = append(f.sessions, STSSession{
		Action:      action,
		RoleARN:     roleARN,
		SessionName: session,
		Duration:    d,
		Policy:      form.Get("Policy"),
		AccessKeyID: c.AccessKeyID,
		Expiration:  exp,
	})
	return c, nil
}
