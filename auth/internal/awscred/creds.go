// Package awscred finds AWS credentials the way the AWS SDKs do (the chain
// Vault Agent's aws method uses), signs the sts:GetCallerIdentity request
// that Vault's aws auth method takes as proof of identity, and reads the
// EC2 instance metadata service (IMDSv2).
//
// It is small on purpose: rotor needs one signed request and a handful of
// credential sources, not an AWS SDK (measured in bench/README.md).
package awscred

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Credentials are AWS keys. Printing them shows only where they came from.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expires is when temporary credentials stop working; zero for keys
	// that do not expire (config, environment, shared file).
	Expires time.Time
	// Source names where they came from, for logs: "config",
	// "environment", "shared credentials file", "web identity",
	// "container", "instance metadata".
	Source string
}

// String describes the credentials without any key.
func (c Credentials) String() string { return "aws-credentials(source=" + c.Source + ")" }

// GoString is String, so %#v shows no key either.
func (c Credentials) GoString() string { return c.String() }

// LogValue makes slog print the source only.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Env looks up an environment variable (os.LookupEnv in production).
type Env func(string) (string, bool)

func (e Env) get(name string) string {
	v, _ := e(name)
	return strings.TrimSpace(v)
}

// errNotConfigured means a source has nothing to offer here (its variables
// are unset, its file is missing): the chain moves on to the next one.
var errNotConfigured = errors.New("not configured")

// refreshMargin is how long before their expiry cached temporary
// credentials are replaced: a login signed with them must still be valid
// when Vault forwards it to STS.
const refreshMargin = 5 * time.Minute

// Chain finds credentials in the AWS SDKs' order, the order of Vault
// Agent's aws method: the method's own keys, the environment
// (AWS_ACCESS_KEY_ID...), the shared credentials file (~/.aws/credentials,
// AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE with
// AWS_ROLE_ARN, as on EKS), the container endpoint (ECS, EKS Pod Identity)
// and finally the EC2 instance metadata service.
//
// A source that is not set up is skipped. A source that is set up and
// fails (STS refuses the web identity token, IMDS does not answer) stops
// the chain with its error, as the AWS SDK v2 does: falling through to the
// next source would log in to Vault as another AWS identity (the node's
// instance role instead of the pod's role).
//
// A Chain is not safe for concurrent use; one login at a time uses it.
type Chain struct {
	Static Credentials // the method's access_key/secret_key/session_token; zero if unset
	Env    Env
	// Client is used for STS (web identity); Local for link-local
	// endpoints (container, IMDS), which must never go through a proxy.
	Client, Local *http.Client
	Now           func() time.Time

	cached Credentials
}

// NewChain returns a chain reading the process environment.
func NewChain(static Credentials) *Chain {
	return &Chain{Static: static, Env: os.LookupEnv, Client: DefaultClient(), Local: LocalClient(), Now: time.Now}
}

// Get returns the first credentials the chain finds. Temporary credentials
// are reused until refreshMargin before they expire; keys that do not
// expire are looked up again at each call, so an edited shared file is
// picked up at the next login.
func (c *Chain) Get(ctx context.Context) (Credentials, error) {
	now := c.Now()
	if !c.cached.Expires.IsZero() && now.Add(refreshMargin).Before(c.cached.Expires) {
		return c.cached, nil
	}
	sources := []struct {
		name string
		get  func(context.Context) (Credentials, error)
	}{
		{"config", c.static},
		{"environment", c.environment},
		{"shared credentials file", c.sharedFile},
		{"web identity", c.webIdentity},
		{"container", c.container},
		{"instance metadata", c.instanceMetadata},
	}
	for _, s := range sources {
		cr, err := s.get(ctx)
		if errors.Is(err, errNotConfigured) {
			continue
		}
		if err != nil {
			return Credentials{}, fmt.Errorf("aws credentials from %s: %w", s.name, err)
		}
		cr.Source = s.name
		c.cached = cr
		return cr, nil
	}
	return Credentials{}, errors.New("no AWS credentials found: set access_key and secret_key, " +
		"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a shared credentials file, AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, " +
		"or run where the container or instance metadata endpoint is reachable")
}

func (c *Chain) static(context.Context) (Credentials, error) {
	if c.Static.AccessKeyID == "" {
		return Credentials{}, errNotConfigured
	}
	return c.Static, nil
}

// environment reads the variables every AWS SDK reads. A half-set pair is
// skipped, as aws-sdk-go (Vault Agent's SDK) does.
func (c *Chain) environment(context.Context) (Credentials, error) {
	id, secret := c.Env.get("AWS_ACCESS_KEY_ID"), c.Env.get("AWS_SECRET_ACCESS_KEY")
	if id == "" {
		id = c.Env.get("AWS_ACCESS_KEY")
	}
	if secret == "" {
		secret = c.Env.get("AWS_SECRET_KEY")
	}
	if id == "" || secret == "" {
		return Credentials{}, errNotConfigured
	}
	return Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: c.Env.get("AWS_SESSION_TOKEN")}, nil
}

// sharedFile reads a profile of the shared credentials file: its keys
// only, as Vault Agent's SDK does (no role_arn, credential_process or SSO).
func (c *Chain) sharedFile(context.Context) (Credentials, error) {
	path := c.Env.get("AWS_SHARED_CREDENTIALS_FILE")
	if path == "" {
		home := c.Env.get("HOME")
		if home == "" {
			h, err := os.UserHomeDir()
			if err != nil {
				return Credentials{}, errNotConfigured
			}
			home = h
		}
		path = filepath.Join(home, ".aws", "credentials")
	}
	profile := c.Env.get("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	keys, err := readProfile(path, profile)
	if err != nil {
		return Credentials{}, err
	}
	id, secret := keys["aws_access_key_id"], keys["aws_secret_access_key"]
	if id == "" || secret == "" {
		return Credentials{}, errNotConfigured
	}
	return Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: keys["aws_session_token"]}, nil
}

// DefaultClient is the HTTP client for AWS service endpoints (STS): the
// environment's proxy settings apply, each request is bounded.
func DefaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// LocalClient is the HTTP client for the link-local credential endpoints
// (IMDS, the container endpoint): never through a proxy, which would
// receive the machine's credentials, and quick to give up where there is
// no such endpoint.
func LocalClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second}).DialContext
	return &http.Client{Transport: t, Timeout: 5 * time.Second}
}
