package awscred

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rotorproject/rotor/internal/atomicfile"
)

// maxFile bounds the files read here (a credentials file, a projected
// web identity token); maxBody the endpoints' answers.
const (
	maxFile = 1 << 20
	maxBody = 1 << 20
)

// readFile reads a small file; a missing one is errNotConfigured. Errors
// name the file, never its content.
func readFile(path string) ([]byte, error) {
	b, err := atomicfile.ReadRegular(path, maxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotConfigured
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("read %s: %w", path, pe.Err)
	}
	return b, err
}

// readProfile returns the keys of one [profile] of an INI file, lowercased.
// A missing file or profile is errNotConfigured.
func readProfile(path, profile string) (map[string]string, error) {
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	var keys map[string]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	in := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			in = strings.TrimSpace(line[1:len(line)-1]) == profile
			if in && keys == nil {
				keys = map[string]string{}
			}
		case in:
			k, v, ok := strings.Cut(line, "=")
			if ok {
				keys[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	if keys == nil {
		return nil, errNotConfigured
	}
	return keys, nil
}

// webIdentity exchanges a projected OIDC token (EKS's service-account
// token for IRSA) for role credentials with sts:AssumeRoleWithWebIdentity,
// an unsigned call: the token is the proof.
func (c *Chain) webIdentity(ctx context.Context) (Credentials, error) {
	roleARN, tokenFile := c.Env.get("AWS_ROLE_ARN"), c.Env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
	if roleARN == "" || tokenFile == "" {
		return Credentials{}, errNotConfigured
	}
	tok, err := readFile(tokenFile)
	if errors.Is(err, errNotConfigured) {
		return Credentials{}, fmt.Errorf("AWS_WEB_IDENTITY_TOKEN_FILE %s does not exist", tokenFile)
	}
	if err != nil {
		return Credentials{}, err
	}
	session := c.Env.get("AWS_ROLE_SESSION_NAME")
	if session == "" {
		// The session name shows in the assumed-role ARN that Vault logs.
		session = "rotor-" + strconv.FormatInt(c.Now().Unix(), 10)
	}
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {roleARN},
		"RoleSessionName":  {session},
		"WebIdentityToken": {strings.TrimSpace(string(tok))},
	}
	endpoint := stsEndpoint(c.Env)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Credentials{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	var out struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string
				SessionToken    string
				Expiration      time.Time
			}
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := c.call(c.Client, req, func(b []byte) error { return xml.Unmarshal(b, &out) }); err != nil {
		return Credentials{}, fmt.Errorf("sts:AssumeRoleWithWebIdentity for %s at %s: %w", roleARN, endpoint, err)
	}
	cr := out.Result.Credentials
	if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("sts:AssumeRoleWithWebIdentity at %s: the answer has no credentials", endpoint)
	}
	return Credentials{AccessKeyID: cr.AccessKeyID, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken, Expires: cr.Expiration}, nil
}

// stsEndpoint is where rotor itself calls STS: AWS_ENDPOINT_URL_STS or
// AWS_ENDPOINT_URL (the SDKs' endpoint overrides, for VPC endpoints and
// tests), else the region's endpoint as aws-sdk-go resolves it.
func stsEndpoint(env Env) string {
	for _, k := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
		if v := env.get(k); v != "" {
			return v
		}
	}
	region := env.get("AWS_REGION")
	if region == "" {
		region = env.get("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = DefaultRegion
	}
	return STSURL(region, env.get("AWS_STS_REGIONAL_ENDPOINTS") == "regional")
}

// awsCreds is the JSON of the container endpoint and of IMDS.
type awsCreds struct {
	Code            string
	Message         string
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      time.Time
}

func (a awsCreds) credentials(where string) (Credentials, error) {
	if a.Code != "" && a.Code != "Success" {
		return Credentials{}, fmt.Errorf("%s answered %s: %s", where, a.Code, a.Message)
	}
	if a.AccessKeyID == "" || a.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("%s: the answer has no credentials", where)
	}
	return Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, SessionToken: a.Token, Expires: a.Expiration}, nil
}

// containerHost is the ECS task metadata endpoint of a relative URI.
const containerHost = "http://169.254.170.2"

// container reads the ECS (or EKS Pod Identity) credentials endpoint.
func (c *Chain) container(ctx context.Context) (Credentials, error) {
	u := c.Env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
	if u != "" {
		u = containerHost + u
	} else if u = c.Env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"); u == "" {
		return Credentials{}, errNotConfigured
	} else if err := checkContainerURL(u); err != nil {
		return Credentials{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Credentials{}, fmt.Errorf("container credentials URI: %w", err)
	}
	auth := c.Env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
	if f := c.Env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); f != "" {
		b, err := readFile(f)
		if err != nil {
			return Credentials{}, fmt.Errorf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %w", err)
		}
		auth = strings.TrimSpace(string(b))
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	var a awsCreds
	if err := c.call(c.Local, req, func(b []byte) error { return json.Unmarshal(b, &a) }); err != nil {
		return Credentials{}, fmt.Errorf("container endpoint: %w", err)
	}
	return a.credentials("the container endpoint")
}

// checkContainerURL refuses a full URI that would send the authorization
// token in clear to another machine: plain http only to loopback or to
// the ECS and EKS Pod Identity link-local addresses, as the SDKs allow.
func checkContainerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI: %w", err)
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	ok := u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback()) ||
		host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23")
	if !ok {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI %s: plain http is allowed only to loopback or the ECS/EKS link-local addresses", u.Redacted())
	}
	return nil
}

// instanceMetadata reads the instance profile's role credentials from IMDS.
func (c *Chain) instanceMetadata(ctx context.Context) (Credentials, error) {
	if strings.EqualFold(c.Env.get("AWS_EC2_METADATA_DISABLED"), "true") {
		return Credentials{}, errNotConfigured
	}
	m := NewIMDS(c.Env, c.Local)
	const dir = "/latest/meta-data/iam/security-credentials/"
	names, err := m.Get(ctx, dir)
	if err != nil {
		return Credentials{}, err
	}
	role, _, _ := strings.Cut(strings.TrimSpace(string(names)), "\n")
	if role == "" {
		return Credentials{}, errors.New("instance metadata: the instance has no IAM role (instance profile)")
	}
	b, err := m.Get(ctx, dir+url.PathEscape(role))
	if err != nil {
		return Credentials{}, err
	}
	var a awsCreds
	if err := json.Unmarshal(b, &a); err != nil {
		return Credentials{}, fmt.Errorf("instance metadata role credentials: %w", err)
	}
	return a.credentials("instance metadata")
}

// call sends req and decodes a 200 answer; another status is an error
// carrying AWS's error code and message (never a credential: AWS does not
// echo them).
func (c *Chain) call(client *http.Client, req *http.Request, decode func([]byte) error) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d%s", resp.StatusCode, awsError(b))
	}
	return decode(b)
}

// awsError extracts ": Code: Message" from an AWS error body (XML or JSON).
func awsError(b []byte) string {
	var x struct {
		Code    string `xml:"Error>Code"`
		Message string `xml:"Error>Message"`
	}
	if xml.Unmarshal(b, &x) != nil || x.Code == "" {
		var j struct{ Code, Message string }
		if json.Unmarshal(b, &j) != nil || j.Code == "" {
			return ""
		}
		x.Code, x.Message = j.Code, j.Message
	}
	msg := x.Message
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return ": " + x.Code + ": " + msg
}
