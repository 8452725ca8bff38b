package awstest

import (
	"crypto/sha256"
	"encoding/base32"
	"net/http"
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
		AssumedRoleUser struct {
			Arn           string
			AssumedRoleID string `xml:"AssumedRoleId"`
		}
		Credentials xmlCredentials
		// PackedPolicySize is sent when the request has session policies.
		PackedPolicySize int `xml:",omitempty"`
	}
	getFederationTokenResult struct {
		Credentials   xmlCredentials
		FederatedUser struct {
			Arn             string
			FederatedUserID string `xml:"FederatedUserId"`
		}
		PackedPolicySize int `xml:",omitempty"`
	}
	getSessionTokenResult struct {
		Credentials xmlCredentials
	}
	assumeRoleWithWebIdentityResult struct {
		Credentials                 xmlCredentials
		SubjectFromWebIdentityToken string
		AssumedRoleUser             struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string
		}
	}
	getCallerIdentityResult struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	}
)

// getCallerIdentity answers for whoever signed the request: Vault's root
// keys when Vault checks its configuration, an IAM user's or an STS
// session's keys when Vault forwards an aws auth iam login. A request
// that is unsigned, signed with an unknown or expired key, or whose
// signature does not match is refused as STS refuses it.
func (f *FakeAWS) getCallerIdentity(r *http.Request, body []byte) (any, *apiError) {
	var rec CallerIdentityRequest
	p, aerr := f.verify(r, body, &rec)
	f.callers = append(f.callers, rec)
	if aerr != nil {
		return nil, aerr
	}
	return getCallerIdentityResult{Arn: p.arn, UserID: p.userID, Account: AccountID}, nil
}

// roleID is a role's unique ID (AROA...), the same for every use of a role
// name, as GetRole and the UserId of its sessions must agree.
func roleID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "AROA" + strings.ToUpper(base32.StdEncoding.EncodeToString(sum[:]))[:17]
}

// assumedRole returns the STS ARN and UserId of a session of roleARN.
func assumedRole(roleARN, session string) (arn, userID string, aerr *apiError) {
	_, roleName, ok := strings.Cut(roleARN, ":role/")
	if !strings.HasPrefix(roleARN, "arn:aws:iam::") || !ok || roleName == "" {
		return "", "", validationError("RoleArn is not a role ARN: " + roleARN)
	}
	if aerr := checkName("roleSessionName", session, 64); aerr != nil {
		return "", "", aerr
	}
	roleName = roleName[strings.LastIndex(roleName, "/")+1:] // drop a role path
	return "arn:aws:sts::" + AccountID + ":assumed-role/" + roleName + "/" + session, roleID(roleName) + ":" + session, nil
}

// assumeRole issues credentials for any role ARN of the form
// arn:aws:iam::<account>:role/<name>, to any signed caller; the fake has
// no trust policies. Every role's MaxSessionDuration is 12 hours, the
// highest AWS allows.
func (f *FakeAWS) assumeRole(form url.Values, caller *principal) (any, *apiError) {
	roleARN, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	arn, userID, aerr := assumedRole(roleARN, session)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := checkDuration(form, 12*time.Hour); aerr != nil {
		return nil, aerr
	}
	creds, aerr := f.issueFor(caller, "AssumeRole", roleARN, session, form, arn, userID)
	if aerr != nil {
		return nil, aerr
	}
	res := assumeRoleResult{Credentials: creds, PackedPolicySize: packedPolicySize(form)}
	res.AssumedRoleUser.AssumedRoleID = userID
	res.AssumedRoleUser.Arn = arn
	return res, nil
}

// TrustWebIdentityToken makes the fake accept token in
// AssumeRoleWithWebIdentity (for any role). Other tokens are refused.
func (f *FakeAWS) TrustWebIdentityToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webIdentity[token] = true
}

// assumeRoleWithWebIdentity is the unsigned call EKS pods make with their
// projected service-account token (IRSA).
func (f *FakeAWS) assumeRoleWithWebIdentity(form url.Values) (any, *apiError) {
	tok := form.Get("WebIdentityToken")
	if !f.webIdentity[tok] {
		return nil, &apiError{http.StatusBadRequest, "InvalidIdentityToken", "awstest: the web identity token is not trusted"}
	}
	roleARN, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	arn, userID, aerr := assumedRole(roleARN, session)
	if aerr != nil {
		return nil, aerr
	}
	creds, aerr := f.issue("AssumeRoleWithWebIdentity", roleARN, session, form, arn, userID)
	if aerr != nil {
		return nil, aerr
	}
	res := assumeRoleWithWebIdentityResult{Credentials: creds, SubjectFromWebIdentityToken: "system:serviceaccount:default:app"}
	res.AssumedRoleUser.AssumedRoleID = userID
	res.AssumedRoleUser.Arn = arn
	return res, nil
}

// getFederationToken issues credentials of the federated user Name. As
// STS, it wants an IAM user's long-term keys: temporary ones are refused.
func (f *FakeAWS) getFederationToken(form url.Values, caller *principal) (any, *apiError) {
	if caller.sessionToken != "" {
		return nil, &apiError{http.StatusForbidden, "AccessDenied", "Cannot call GetFederationToken with session credentials"}
	}
	name := form.Get("Name")
	if aerr := checkName("name", name, 32); aerr != nil {
		return nil, aerr
	}
	if aerr := checkDuration(form, 36*time.Hour); aerr != nil {
		return nil, aerr
	}
	arn, userID := "arn:aws:sts::"+AccountID+":federated-user/"+name, AccountID+":"+name
	creds, aerr := f.issueFor(caller, "GetFederationToken", "", name, form, arn, userID)
	if aerr != nil {
		return nil, aerr
	}
	res := getFederationTokenResult{Credentials: creds, PackedPolicySize: packedPolicySize(form)}
	res.FederatedUser.FederatedUserID = userID
	res.FederatedUser.Arn = arn
	return res, nil
}

// getSessionToken issues temporary credentials of the caller itself.
func (f *FakeAWS) getSessionToken(form url.Values, caller *principal) (any, *apiError) {
	if caller.sessionToken != "" {
		return nil, &apiError{http.StatusForbidden, "AccessDenied", "Cannot call GetSessionToken with session credentials"}
	}
	if aerr := checkDuration(form, 36*time.Hour); aerr != nil {
		return nil, aerr
	}
	creds, aerr := f.issueFor(caller, "GetSessionToken", "", "", form, caller.arn, caller.userID)
	if aerr != nil {
		return nil, aerr
	}
	return getSessionTokenResult{Credentials: creds}, nil
}

// issue makes temporary credentials lasting DurationSeconds for the
// principal arn (userID) and records them. The actions check
// DurationSeconds against their own limits first (stslimits.go); issue
// takes any positive one. ShortenSTSLifetime may cut the lifetime.
func (f *FakeAWS) issue(action, roleARN, session string, form url.Values, arn, userID string) (xmlCredentials, *apiError) {
	d := defaultSTSDuration
	if s := form.Get("DurationSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return xmlCredentials{}, validationError("DurationSeconds must be a positive integer: " + s)
		}
		d = time.Duration(n) * time.Second
	}
	life := d
	if f.stsLifetime > 0 && f.stsLifetime < life {
		life = f.stsLifetime
	}
	exp := time.Now().Add(life).Truncate(time.Second) // the wire format has whole seconds
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
	f.keys[c.AccessKeyID] = principal{secret: c.SecretAccessKey, sessionToken: c.SessionToken, arn: arn, userID: userID, expires: exp}
	return c, nil
}
