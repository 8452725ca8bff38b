// Package awstest fakes the parts of AWS IAM, STS and EC2 that Vault's aws
// secrets engine and aws auth method call, and the EC2 instance metadata
// service, so integration tests can issue, renew and revoke AWS
// credentials, and log in to Vault with AWS identities, through a real
// Vault without an AWS account.
//
// FakeAWS is one HTTP server on 127.0.0.1 speaking the AWS Query protocol
// (form-encoded POSTs with an Action parameter, XML answers shaped as
// aws-sdk-go v1's unmarshalers expect) for the three services; point
// Vault's iam_endpoint, sts_endpoint and (aws auth) endpoint at its URL
// (SetupVaultAWS and SetupVaultAWSAuth do). Signatures are checked on
// the STS actions that act for their signer, as STS does: GetCallerIdentity
// (the request an aws auth iam login hands to Vault), and AssumeRole,
// GetFederationToken and GetSessionToken (which the secrets engine signs
// with its root keys). IAM and EC2 actions trust their caller. It keeps IAM users, their policies and access keys, issued STS sessions and
// EC2 instances in memory, so a test can assert that revoking a lease
// deleted the user and its keys.
//
// Everything here is test-only: helpers take a testing.TB and register
// their own cleanup.
package awstest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// AccountID is the AWS account of every ARN the fake makes.
const AccountID = "123456789012"

// FakeAWS is a fake IAM and STS endpoint. Its methods are safe for
// concurrent use.
type FakeAWS struct {
	// URL is the endpoint's base URL, e.g. "http://127.0.0.1:41234", for
	// both IAM and STS.
	URL string

	srv *httptest.Server
	now func() time.Time // signature dates and key expiry are checked against it

	mu       sync.Mutex // guards everything below
	users    map[string]*iamUser
	keyOwner map[string]string // live IAM access key ID -> user name
	sessions []STSSession
	actions  []string
	fail     map[string]injected
	// keys maps every access key the fake knows (root, IAM users', STS
	// sessions') to its secret and owner, for GetCallerIdentity.
	keys        map[string]principal
	callers     []CallerIdentityRequest
	webIdentity map[string]bool // trusted web identity tokens
	instances   map[string]Instance
	stsLifetime time.Duration // see ShortenSTSLifetime; 0: as asked
}

// User is a snapshot of a fake IAM user.
type User struct {
	// Name is the UserName Vault chose.
	Name string
	// Path is the user's IAM path ("/" unless the role sets user_path).
	Path string
	// ARN is arn:aws:iam::123456789012:user<Path><Name>.
	ARN string
	// InlinePolicies maps policy names (PutUserPolicy) to documents.
	InlinePolicies map[string]string
	// AttachedPolicyARNs are the managed policies (AttachUserPolicy), sorted.
	AttachedPolicyARNs []string
	// Groups are the groups the user was added to, sorted.
	Groups []string
	// Tags are the user's tags (TagUser).
	Tags map[string]string
	// AccessKeyIDs are the user's live access keys, sorted.
	AccessKeyIDs []string
}

// STSSession records temporary credentials the fake issued through STS.
type STSSession struct {
	// Action is "AssumeRole", "AssumeRoleWithWebIdentity", "GetFederationToken",
	// "GetSessionToken", or "InstanceProfile" for credentials served by a
	// fake IMDS.
	Action string
	// RoleARN and SessionName are AssumeRole's RoleArn and RoleSessionName;
	// for GetFederationToken SessionName is the Name parameter.
	RoleARN     string
	SessionName string
	// Duration is the requested DurationSeconds (1h when absent).
	Duration time.Duration
	// CallerARN is who signed the request (Vault's root user, for the
	// secrets engine); empty for unsigned calls (AssumeRoleWithWebIdentity,
	// instance profiles).
	CallerARN string
	// Policy is the session policy document, if any.
	Policy string
	// AccessKeyID is the temporary key (ASIA...) handed out.
	AccessKeyID string
	// Expiration is when the credentials expire: issue time + Duration.
	Expiration time.Time
}

type iamUser struct {
	name, path, id, arn string
	created             time.Time
	inline              map[string]string
	attached            map[string]bool
	groups              map[string]bool
	tags                map[string]string
	keys                map[string]time.Time // access key ID -> creation
}

type injected struct {
	status int
	code   string
}

// Start starts a fake on a free 127.0.0.1 port. It is closed when the test
// ends.
func Start(t testing.TB) *FakeAWS {
	t.Helper()
	f := &FakeAWS{
		users:       map[string]*iamUser{},
		keyOwner:    map[string]string{},
		fail:        map[string]injected{},
		keys:        map[string]principal{RootAccessKey: {secret: RootSecretKey, arn: rootARN, userID: rootUserID}},
		webIdentity: map[string]bool{},
		instances:   map[string]Instance{},
		now:         time.Now,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL
	return f
}

// Users returns the names of the existing IAM users, sorted.
func (f *FakeAWS) Users() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.users))
}

// AccessKeys returns the IDs of the live IAM access keys (AKIA...) of all
// users, sorted. Temporary STS keys are not included; see Sessions.
func (f *FakeAWS) AccessKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.keyOwner))
}

// User returns a snapshot of the IAM user name, and whether it exists.
func (f *FakeAWS) User(name string) (User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[name]
	if !ok {
		return User{}, false
	}
	return User{
		Name:               u.name,
		Path:               u.path,
		ARN:                u.arn,
		InlinePolicies:     maps.Clone(u.inline),
		AttachedPolicyARNs: slices.Sorted(maps.Keys(u.attached)),
		Groups:             slices.Sorted(maps.Keys(u.groups)),
		Tags:               maps.Clone(u.tags),
		AccessKeyIDs:       slices.Sorted(maps.Keys(u.keys)),
	}, true
}

// Sessions returns the STS credentials issued so far, oldest first. STS
// credentials cannot be revoked; they only expire.
func (f *FakeAWS) Sessions() []STSSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sessions)
}

// Actions returns the Action of every request received so far, in order,
// e.g. ["CreateUser", "PutUserPolicy", "CreateAccessKey"].
func (f *FakeAWS) Actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.actions)
}

// FailAction makes every later request for action (e.g. "CreateAccessKey")
// fail with HTTP status and AWS error code (e.g. 403, "AccessDenied"),
// until it is called again with an empty code. aws-sdk-go retries 5xx
// statuses and throttling codes unless Vault's max_retries is 0, which
// SetupVaultAWS sets.
func (f *FakeAWS) FailAction(action string, status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == "" {
		delete(f.fail, action)
		return
	}
	f.fail[action] = injected{status: status, code: code}
}

// serveHTTP answers one Query API request.
func (f *FakeAWS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is kept for signature checks, then parsed as the form.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, iamNS, &apiError{http.StatusBadRequest, "MalformedQueryString", err.Error()})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseForm(); err != nil {
		writeError(w, iamNS, &apiError{http.StatusBadRequest, "MalformedQueryString", err.Error()})
		return
	}
	action := r.Form.Get("Action")
	op, ok := operation(action)
	if !ok {
		writeError(w, iamNS, &apiError{http.StatusBadRequest, "InvalidAction",
			"awstest: action " + action + " is not implemented by the fake"})
		return
	}
	// One lock for the whole request: actions apply in arrival order, as
	// if IAM were strongly consistent (real IAM is not).
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, action)
	if inj, ok := f.fail[action]; ok {
		writeError(w, op.ns, &apiError{inj.status, inj.code, "awstest: injected failure"})
		return
	}
	var result any
	var aerr *apiError
	if op.signed != nil {
		result, aerr = op.signed(f, r, body)
	} else {
		result, aerr = op.fn(f, r.Form)
	}
	switch {
	case aerr != nil && op.ns == ec2NS:
		writeEC2Error(w, aerr)
	case aerr != nil:
		writeError(w, op.ns, aerr)
	case op.ns == ec2NS:
		writeEC2Result(w, action, result)
	default:
		writeResult(w, op.ns, action, result)
	}
}

// randID returns prefix followed by n random characters from A-Z and 2-7,
// the alphabet of real access key IDs.
func randID(prefix string, n int) string {
	s := prefix
	for len(s) < len(prefix)+n {
		s += rand.Text()
	}
	return s[:len(prefix)+n]
}

// randSecret returns a random secret access key of AWS's length (40).
func randSecret() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.StdEncoding.EncodeToString(b)
}
