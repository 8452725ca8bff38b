package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// aliCloudMethod logs in with Vault's alicloud auth method, as Vault
// Agent's alicloud method does: it signs an STS GetCallerIdentity request
// with the machine's Alibaba Cloud credentials and hands the request (URL
// and headers) to Vault, which sends it to STS; STS's answer tells Vault
// who signed.
type aliCloudMethod struct {
	mount string
	cfg   AliCloudOptions
	env   cloudEnv
	http  cloudClients
	now   func() time.Time
	log   *slog.Logger
	// ecs is the ECS metadata service's base URL.
	ecs string
}

const aliECS = "http://100.100.100.200"

func newAliCloud(mount string, o AliCloudOptions, log *slog.Logger) (Method, error) {
	switch {
	case o.Role == "":
		return nil, errors.New("alicloud: role is required")
	case o.Region == "":
		return nil, errors.New("alicloud: region is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &aliCloudMethod{mount: mount, cfg: o, env: os.LookupEnv, http: defaultCloudClients(), now: time.Now, log: log, ecs: aliECS}, nil
}

// aliCreds are Alibaba Cloud keys and the name of their kind, which the
// SDK sends as x-acs-credentials-provider.
type aliCreds struct {
	id, secret, token string
	provider          string // "static_ak", "static_sts", "ecs_ram_role"
	source            string
}

func (m *aliCloudMethod) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	cr, err := m.credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: alicloud login: %v", ErrCredentials, err)
	}
	noteCredential(ctx, cr.secret)
	noteCredential(ctx, cr.token)
	u, h, err := m.signedCallerIdentity(cr)
	if err != nil {
		return nil, fmt.Errorf("%w: alicloud login: %v", ErrCredentials, err)
	}
	headers, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	m.log.Debug("alicloud login", "credentials", cr.source, "region", m.cfg.Region)
	b64 := base64.StdEncoding.EncodeToString
	return loginWrite(ctx, c, m.mount+"/login", map[string]any{
		"role":                     m.cfg.Role,
		"identity_request_url":     b64([]byte(u)),
		"identity_request_headers": b64(headers),
	})
}

// credentials are found as Vault Agent's chain finds them, at each login:
// the ALICLOUD_* variables, the method's config, then the ECS instance's
// RAM role from the metadata service. Each of the first two offers an
// access key pair (with a security token: STS keys), else a RAM role name
// whose credentials the metadata service holds. A RAM role ARN to assume
// or an RSA key pair is refused: rotor cannot test those against a
// faithful STS.
func (m *aliCloudMethod) credentials(ctx context.Context) (aliCreds, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	e := m.env.get
	if id, secret := e("ALICLOUD_ACCESS_KEY"), e("ALICLOUD_SECRET_KEY"); id != "" && secret != "" {
		if e("ALICLOUD_ROLE_ARN") != "" && e("ALICLOUD_ROLE_SESSION_NAME") != "" {
			return aliCreds{}, errors.New("ALICLOUD_ROLE_ARN is set: rotor does not assume a RAM role by ARN; give the keys of the role's session, or use the instance's RAM role")
		}
		return staticAli(id, secret, e("ALICLOUD_ACCESS_KEY_STS_TOKEN"), "environment"), nil
	}
	if role := e("ALICLOUD_ROLE_NAME"); role != "" {
		return m.ecsRole(ctx, role, "ecs_ram_role", "ALICLOUD_ROLE_NAME")
	}
	if e("ALICLOUD_PRIVATE_KEY") != "" && e("ALICLOUD_PUBLIC_KEY_ID") != "" {
		return aliCreds{}, errors.New("ALICLOUD_PRIVATE_KEY is set: rotor does not log in with an RSA key pair; use access keys or the instance's RAM role")
	}
	if o := m.cfg; o.AccessKey != "" && o.AccessSecret != "" {
		return staticAli(o.AccessKey, o.AccessSecret, o.AccessToken, "the method's config"), nil
	}
	if m.cfg.RoleName != "" {
		return m.ecsRole(ctx, m.cfg.RoleName, "ecs_ram_role", "role_name")
	}
	role, err := m.ecsGet(ctx, "/latest/meta-data/ram/security-credentials/")
	if err != nil {
		return aliCreds{}, fmt.Errorf("no credentials: none in ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY or the config, and no RAM role from the ECS metadata service (%v)", err)
	}
	name := strings.TrimSpace(string(role))
	if name == "" {
		return aliCreds{}, errors.New("no credentials: the ECS metadata service names no RAM role for this instance")
	}
	// The chain's last link hands these on as plain STS keys.
	return m.ecsRole(ctx, name, "static_sts", "the instance's RAM role")
}

func staticAli(id, secret, token, source string) aliCreds {
	if token != "" {
		return aliCreds{id: id, secret: secret, token: token, provider: "static_sts", source: source}
	}
	return aliCreds{id: id, secret: secret, provider: "static_ak", source: source}
}

// ecsRole reads the RAM role's current credentials from the metadata service.
func (m *aliCloudMethod) ecsRole(ctx context.Context, role, provider, source string) (aliCreds, error) {
	b, err := m.ecsGet(ctx, "/latest/meta-data/ram/security-credentials/"+url.PathEscape(role))
	if err != nil {
		return aliCreds{}, fmt.Errorf("RAM role %s (%s): %v", role, source, err)
	}
	var c struct {
		AccessKeyId, AccessKeySecret, SecurityToken, Code string
	}
	if err := json.Unmarshal(b, &c); err != nil || c.AccessKeyId == "" || c.AccessKeySecret == "" || c.SecurityToken == "" {
		return aliCreds{}, fmt.Errorf("RAM role %s (%s): the metadata service's answer has no credentials", role, source)
	}
	if c.Code != "Success" {
		return aliCreds{}, fmt.Errorf("RAM role %s (%s): the metadata service says %q", role, source, c.Code)
	}
	return aliCreds{id: c.AccessKeyId, secret: c.AccessKeySecret, token: c.SecurityToken, provider: provider, source: source}, nil
}

// ecsGet reads the ECS metadata service, with a metadata token when the
// service gives one (its hardened mode), without when it does not, as the
// SDK does.
func (m *aliCloudMethod) ecsGet(ctx context.Context, path string) ([]byte, error) {
	tok := ""
	if req, err := http.NewRequestWithContext(ctx, http.MethodPut, m.ecs+"/latest/api/token", nil); err == nil {
		req.Header.Set("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
		if b, err := cloudCall(m.http.local, req, "ECS metadata token"); err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.ecs+path, nil)
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("X-aliyun-ecs-metadata-token", tok)
	}
	return cloudCall(m.http.local, req, "ECS metadata service")
}

// signedCallerIdentity is the GetCallerIdentity request the Alibaba Cloud
// SDK would send (RPC style, signature version 1.0, HMAC-SHA1 over the
// POST of its query) to the region's STS endpoint, and its headers.
func (m *aliCloudMethod) signedCallerIdentity(cr aliCreds) (string, map[string][]string, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	q := url.Values{
		"AccessKeyId":      {cr.id},
		"Action":           {"GetCallerIdentity"},
		"Format":           {"JSON"},
		"RegionId":         {m.cfg.Region},
		"SignatureMethod":  {"HMAC-SHA1"},
		"SignatureNonce":   {hex.EncodeToString(nonce)},
		"SignatureType":    {""},
		"SignatureVersion": {"1.0"},
		"Timestamp":        {m.now().UTC().Format("2006-01-02T15:04:05Z")},
		"Version":          {"2015-04-01"},
	}
	if cr.token != "" {
		q.Set("SecurityToken", cr.token)
	}
	q.Set("Signature", aliSign(q, cr.secret))
	u := "https://sts." + m.cfg.Region + ".aliyuncs.com/?" + q.Encode()
	h := map[string][]string{
		"Accept-Encoding":            {"identity"},
		"Content-Type":               {"application/x-www-form-urlencoded"},
		"User-Agent":                 {"rotor"},
		"x-acs-action":               {"GetCallerIdentity"},
		"x-acs-credentials-provider": {cr.provider},
		"x-acs-version":              {"2015-04-01"},
		"x-sdk-client":               {"golang/1.0.0"},
		"x-sdk-invoke-type":          {"normal"},
	}
	return u, h, nil
}

// aliSign is Alibaba Cloud's RPC signature (version 1.0) of a POST with
// query q: HMAC-SHA1, keyed with secret + "&", of "POST&%2F&" and the
// percent-encoded, sorted query.
func aliSign(q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = aliPercent(k) + "=" + aliPercent(q.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte("POST&%2F&" + aliPercent(strings.Join(pairs, "&"))))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliPercent is RFC 3986 encoding: all but A-Z a-z 0-9 - _ . ~ escaped.
func aliPercent(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}
