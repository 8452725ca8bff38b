package awstest

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Result shapes of the IAM actions, named as in the IAM API reference.
type (
	xmlUser struct {
		Path       string
		UserName   string
		UserID     string `xml:"UserId"`
		Arn        string
		CreateDate string
	}
	userResult struct{ User xmlUser }

	xmlAccessKey struct {
		UserName        string
		AccessKeyID     string `xml:"AccessKeyId"`
		Status          string
		SecretAccessKey string `xml:",omitempty"`
		CreateDate      string
	}
	createAccessKeyResult struct{ AccessKey xmlAccessKey }
	listAccessKeysResult  struct {
		AccessKeyMetadata members[xmlAccessKey]
		IsTruncated       bool
	}

	listUserPoliciesResult struct {
		PolicyNames members[string]
		IsTruncated bool
	}
	xmlAttachedPolicy struct {
		PolicyName string
		PolicyArn  string
	}
	listAttachedUserPoliciesResult struct {
		AttachedPolicies members[xmlAttachedPolicy]
		IsTruncated      bool
	}

	xmlGroup struct {
		Path       string
		GroupName  string
		GroupID    string `xml:"GroupId"`
		Arn        string
		CreateDate string
	}
	listGroupsForUserResult struct {
		Groups      members[xmlGroup]
		IsTruncated bool
	}
)

func (u *iamUser) xml() xmlUser {
	return xmlUser{Path: u.path, UserName: u.name, UserID: u.id, Arn: u.arn, CreateDate: isoTime(u.created)}
}

// user returns the user named by the UserName parameter.
func (f *FakeAWS) user(form url.Values) (*iamUser, *apiError) {
	name := form.Get("UserName")
	if name == "" {
		return nil, validationError("UserName is required")
	}
	u, ok := f.users[name]
	if !ok {
		return nil, noSuchEntity(fmt.Sprintf("The user with name %s cannot be found.", name))
	}
	return u, nil
}

func (f *FakeAWS) createUser(form url.Values) (any, *apiError) {
	name := form.Get("UserName")
	if name == "" || len(name) > 64 {
		return nil, validationError("UserName must have 1 to 64 characters")
	}
	if _, ok := f.users[name]; ok {
		return nil, &apiError{http.StatusConflict, "EntityAlreadyExists", "User with name " + name + " already exists."}
	}
	path := form.Get("Path")
	if path == "" {
		path = "/"
	}
	u := &iamUser{
		name:     name,
		path:     path,
		id:       randID("AIDA", 17),
		arn:      "arn:aws:iam::" + AccountID + ":user" + path + name,
		created:  time.Now(),
		inline:   map[string]string{},
		attached: map[string]bool{},
		groups:   map[string]bool{},
		tags:     map[string]string{},
		keys:     map[string]time.Time{},
	}
	f.users[name] = u
	return userResult{u.xml()}, nil
}

// getUser answers for the named user, or without UserName for the caller:
// the user whose (fake) keys Vault is configured with.
func (f *FakeAWS) getUser(form url.Values) (any, *apiError) {
	if form.Get("UserName") == "" {
		return userResult{xmlUser{Path: "/", UserName: "vault-root", UserID: rootUserID,
			Arn: rootARN, CreateDate: isoTime(time.Unix(0, 0))}}, nil
	}
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	return userResult{u.xml()}, nil
}

// deleteUser refuses, as IAM does, to delete a user that still has keys,
// policies or groups, so a test notices when cleanup skipped a step.
func (f *FakeAWS) deleteUser(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	if len(u.keys)+len(u.inline)+len(u.attached)+len(u.groups) > 0 {
		return nil, &apiError{http.StatusConflict, "DeleteConflict",
			"Cannot delete entity, must delete access keys, policies and group memberships first."}
	}
	delete(f.users, u.name)
	return nil, nil
}

// tagUser reads Tags.member.N.Key and Tags.member.N.Value.
func (f *FakeAWS) tagUser(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	for i := 1; form.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		u.tags[form.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = form.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	return nil, nil
}

func (f *FakeAWS) putUserPolicy(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	name, doc := form.Get("PolicyName"), form.Get("PolicyDocument")
	if name == "" || doc == "" {
		return nil, validationError("PolicyName and PolicyDocument are required")
	}
	u.inline[name] = doc
	return nil, nil
}

func (f *FakeAWS) deleteUserPolicy(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	name := form.Get("PolicyName")
	if _, ok := u.inline[name]; !ok {
		return nil, noSuchEntity("The user policy with name " + name + " cannot be found.")
	}
	delete(u.inline, name)
	return nil, nil
}

func (f *FakeAWS) listUserPolicies(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	return listUserPoliciesResult{PolicyNames: members[string]{slices.Sorted(maps.Keys(u.inline))}}, nil
}

func (f *FakeAWS) attachUserPolicy(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	arn := form.Get("PolicyArn")
	if !strings.HasPrefix(arn, "arn:") {
		return nil, validationError("PolicyArn is not an ARN: " + arn)
	}
	u.attached[arn] = true
	return nil, nil
}

func (f *FakeAWS) detachUserPolicy(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	arn := form.Get("PolicyArn")
	if !u.attached[arn] {
		return nil, noSuchEntity("Policy " + arn + " was not found.")
	}
	delete(u.attached, arn)
	return nil, nil
}

func (f *FakeAWS) listAttachedUserPolicies(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	var res listAttachedUserPoliciesResult
	for _, arn := range slices.Sorted(maps.Keys(u.attached)) {
		res.AttachedPolicies.Member = append(res.AttachedPolicies.Member,
			xmlAttachedPolicy{PolicyName: arn[strings.LastIndex(arn, "/")+1:], PolicyArn: arn})
	}
	return res, nil
}

// addUserToGroup accepts any group name: the fake has no groups of its own.
func (f *FakeAWS) addUserToGroup(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	g := form.Get("GroupName")
	if g == "" {
		return nil, validationError("GroupName is required")
	}
	u.groups[g] = true
	return nil, nil
}

func (f *FakeAWS) removeUserFromGroup(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	g := form.Get("GroupName")
	if !u.groups[g] {
		return nil, noSuchEntity("The group with name " + g + " cannot be found.")
	}
	delete(u.groups, g)
	return nil, nil
}

func (f *FakeAWS) listGroupsForUser(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	var res listGroupsForUserResult
	for _, g := range slices.Sorted(maps.Keys(u.groups)) {
		res.Groups.Member = append(res.Groups.Member, xmlGroup{Path: "/", GroupName: g,
			GroupID: randID("AGPA", 17),
			Arn:     "arn:aws:iam::" + AccountID + ":group/" + g, CreateDate: isoTime(u.created)})
	}
	return res, nil
}

func (f *FakeAWS) createAccessKey(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	if len(u.keys) >= 2 { // IAM's quota
		return nil, &apiError{http.StatusConflict, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2"}
	}
	id, now, secret := randID("AKIA", 16), time.Now(), randSecret()
	u.keys[id] = now
	f.keyOwner[id] = u.name
	f.keys[id] = principal{secret: secret, arn: u.arn, userID: u.id}
	return createAccessKeyResult{xmlAccessKey{UserName: u.name, AccessKeyID: id, Status: "Active",
		SecretAccessKey: secret, CreateDate: isoTime(now)}}, nil
}

func (f *FakeAWS) deleteAccessKey(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	id := form.Get("AccessKeyId")
	if _, ok := u.keys[id]; !ok {
		return nil, noSuchEntity("The Access Key with id " + id + " cannot be found.")
	}
	delete(u.keys, id)
	delete(f.keyOwner, id)
	delete(f.keys, id)
	return nil, nil
}

func (f *FakeAWS) listAccessKeys(form url.Values) (any, *apiError) {
	u, err := f.user(form)
	if err != nil {
		return nil, err
	}
	var res listAccessKeysResult
	for _, id := range slices.Sorted(maps.Keys(u.keys)) {
		res.AccessKeyMetadata.Member = append(res.AccessKeyMetadata.Member,
			xmlAccessKey{UserName: u.name, AccessKeyID: id, Status: "Active", CreateDate: isoTime(u.keys[id])})
	}
	return res, nil
}
