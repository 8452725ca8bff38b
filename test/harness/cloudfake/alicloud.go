package cloudfake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The fake Alibaba Cloud account and the ECS instance's RAM role.
const (
	AliAccount  = "1234567890123456"
	AliRoleName = "ecs-vault-role"
)

type aliKey struct {
	secret, token string
	arn, kind     string // the principal: an ARN and "RAMUser" or "AssumedRoleUser"
}

type aliState struct {
	keys     map[string]aliKey // by AccessKeyId
	ecsKey   string            // the role's current session key
	mdTokens map[string]bool
}

func (a *aliState) init() {
	a.keys = map[string]aliKey{}
	a.mdTokens = map[string]bool{}
	a.rotateECS()
}

func (a *aliState) rotateECS() {
	id := "STS.NV" + strings.ToUpper(randomID(8))
	a.keys[id] = aliKey{secret: randomID(15), token: "CAIS" + randomID(40), kind: "AssumedRoleUser",
		arn: fmt.Sprintf("acs:ram::%s:assumed-role/%s/vm-ecs-%s", AliAccount, AliRoleName, id[len(id)-4:])}
	a.ecsKey = id
}

// AliAccessKey makes a RAM user with a new access key pair (and, with sts,
// a security token as STS would issue) and returns them.
func (f *Fake) AliAccessKey(user string, sts bool) (id, secret, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, secret = "LTAI"+strings.ToUpper(randomID(10)), randomID(15)
	k := aliKey{secret: secret, kind: "RAMUser", arn: fmt.Sprintf("acs:ram::%s:user/%s", AliAccount, user)}
	if sts {
		id = "STS." + id
		token = "CAIS" + randomID(40)
		k.token, k.kind = token, "AssumedRoleUser"
		k.arn = fmt.Sprintf("acs:ram::%s:assumed-role/%s/session", AliAccount, user)
	}
	f.ali.keys[id] = k
	return id, secret, token
}

// AliRotateECS gives the instance's RAM role new session credentials
// and returns their AccessKeyId.
func (f *Fake) AliRotateECS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ali.rotateECS()
	return f.ali.ecsKey
}

// AliECSKeyID is the AccessKeyId of the role's current session credentials.
func (f *Fake) AliECSKeyID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ali.ecsKey
}

func (f *Fake) ecsMetadata(r Request) (int, any) {
	a := &f.ali
	if r.Path == "/latest/api/token" {
		if r.Method != http.MethodPut || r.Header.Get("X-aliyun-ecs-metadata-token-ttl-seconds") == "" {
			return http.StatusBadRequest, "bad token request"
		}
		t := "AQAEA" + randomID(20)
		a.mdTokens[t] = true
		return http.StatusOK, t
	}
	if t := r.Header.Get("X-aliyun-ecs-metadata-token"); t != "" && !a.mdTokens[t] {
		return http.StatusUnauthorized, "invalid metadata token"
	}
	switch r.Path {
	case "/latest/meta-data/ram/security-credentials/":
		return http.StatusOK, AliRoleName
	case "/latest/meta-data/ram/security-credentials/" + AliRoleName:
		k := a.keys[a.ecsKey]
		now := time.Now().UTC()
		return http.StatusOK, map[string]string{"AccessKeyId": a.ecsKey, "AccessKeySecret": k.secret, "SecurityToken": k.token,
			"Expiration": now.Add(6 * time.Hour).Format("2006-01-02T15:04:05Z"), "LastUpdated": now.Format("2006-01-02T15:04:05Z"), "Code": "Success"}
	}
	return http.StatusNotFound, "404 - Not Found"
}

// AliIdentity is STS GetCallerIdentity's answer.
type AliIdentity struct {
	AccountId, Arn, IdentityType, PrincipalId, RequestId, UserId string
}

// VerifyAliCallerIdentity checks a signed GetCallerIdentity request as
// the alicloud plugin and STS would: an https URL to sts.<region>.aliyuncs.com
// (RegionId's endpoint), Format JSON, Action GetCallerIdentity, a
// HMAC-SHA1 signature over the POST of its query by a key the fake issued,
// with the key's security token, and a fresh timestamp. It returns the
// caller.
func (f *Fake) VerifyAliCallerIdentity(rawURL string, header http.Header) (*AliIdentity, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q, want https", u.Scheme)
	}
	q := u.Query()
	if want := "sts." + q.Get("RegionId") + ".aliyuncs.com"; u.Host != want {
		return nil, fmt.Errorf("host %q, want %q", u.Host, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.verifyAliLocked(u.Host, q, header)
}

func (f *Fake) verifyAliLocked(host string, q url.Values, _ http.Header) (*AliIdentity, error) {
	if q.Get("Format") != "JSON" || q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2015-04-01" {
		return nil, errors.New("not a JSON GetCallerIdentity 2015-04-01 request")
	}
	if q.Get("SignatureMethod") != "HMAC-SHA1" || q.Get("SignatureVersion") != "1.0" || q.Get("SignatureNonce") == "" {
		return nil, errors.New("want SignatureMethod HMAC-SHA1, SignatureVersion 1.0 and a SignatureNonce")
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 15*time.Minute {
		return nil, fmt.Errorf("timestamp %q is not within 15 minutes of now", q.Get("Timestamp"))
	}
	id := q.Get("AccessKeyId")
	k, ok := f.ali.keys[id]
	if !ok {
		return nil, fmt.Errorf("InvalidAccessKeyId.NotFound: %s", id)
	}
	if q.Get("SecurityToken") != k.token {
		return nil, errors.New("InvalidSecurityToken: the security token does not match the key")
	}
	if want := AliSignature(q, k.secret); q.Get("Signature") != want {
		return nil, errors.New("SignatureDoesNotMatch")
	}
	return &AliIdentity{AccountId: AliAccount, Arn: k.arn, IdentityType: k.kind, PrincipalId: id,
		RequestId: randomID(8), UserId: id}, nil
}

// AliSignature is the RPC signature of a POST with query q (Signature
// itself left out) under secret, written from Alibaba Cloud's published
// algorithm.
func AliSignature(q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(aliEscape(k) + "=" + aliEscape(q.Get(k)))
	}
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte("POST&%2F&" + aliEscape(b.String())))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// aliEscape is RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay.
func aliEscape(s string) string {
	e := url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}
