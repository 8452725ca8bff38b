package auth

import (
	"context"
	"iter"
	"slices"
	"sync"

	"github.com/rotorproject/rotor/internal/redact"
)

// CredentialEnv names the environment variables a method of type
// methodType reads credentials from: the aws method's keys, session token
// and container authorization token (not the paths of files holding one,
// AWS_WEB_IDENTITY_TOKEN_FILE and its kin, which a child could read
// anyway). The agent keeps them from the commands it runs, as it keeps
// VAULT_TOKEN.
func CredentialEnv(methodType string) []string {
	switch methodType {
	case "aws":
		return []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
			"AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}
	case "gcp":
		return []string{"GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON"} // key JSON, not a path
	case "azure":
		return []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_PASSWORD"}
	case "alicloud":
		return []string{"ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_ACCESS_KEY_STS_TOKEN", "ALICLOUD_PRIVATE_KEY"}
	}
	return nil
}

// credentialFields are the login request fields that hold a credential:
// their values are hidden from every log line and error (see
// Lifecycle.Credentials). A role name or a mount is no secret. The
// base64 signed requests (aws iam, alicloud) carry a session token in
// encoded form, which noting the raw token cannot hide: the whole field
// is noted.
var credentialFields = []string{"role_id", "secret_id", "jwt", "password", "token", "nonce",
	"iam_request_headers", "identity_request_url", "identity_request_headers"}

// maxCredentials is how many distinct credential values a lifecycle
// remembers: the current ones and a few it used before (a rotated
// secret_id may still be quoted by a late error).
const maxCredentials = 16

// credsKey carries, in a login's context, the *credentials the login's
// values are noted in.
type credsKey struct{}

// noteCredential records v as a credential of the login running in ctx,
// before it is sent anywhere.
func noteCredential(ctx context.Context, v string) {
	if c, ok := ctx.Value(credsKey{}).(*credentials); ok && v != "" {
		c.add(v)
	}
}

// credentials are the credential values a lifecycle's logins used.
type credentials struct {
	mu   sync.Mutex
	vals []string // most recent last
	adds uint64   // values added so far (a version)
	set  *redact.Set
}

func (c *credentials) add(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.vals, v); i >= 0 {
		if i == len(c.vals)-1 {
			return // the same as last time: nothing changes
		}
		c.vals = slices.Delete(c.vals, i, i+1)
	}
	c.adds++
	c.vals = append(c.vals, v)
	if len(c.vals) > maxCredentials {
		c.vals = c.vals[1:]
	}
	c.set = nil
}

func (c *credentials) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.vals)
}

// redact returns err with every credential value hidden from its text;
// it still wraps err (errors.Is and As see through it).
func (c *credentials) redact(err error) error {
	if err == nil {
		return nil
	}
	c.mu.Lock()
	if c.set == nil {
		c.set = redact.New(slices.Values(c.vals))
	}
	set := c.set
	c.mu.Unlock()
	msg := err.Error()
	if r := set.Redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

// redactedError is an error whose text lost its secrets.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Credentials yields the credential values rotor's logins used (role_id,
// secret_id, a JWT, a token read from a file, the wrapping token of a
// wrapped secret_id, the aws method's secret key, session token and ec2
// nonce), so that the agent hides them from every log line,
// error and command output, as it hides the secrets it holds.
func (l *Lifecycle) Credentials() iter.Seq[string] { return slices.Values(l.cred.all()) }

// CredentialsVersion changes whenever Credentials does.
func (l *Lifecycle) CredentialsVersion() uint64 {
	l.cred.mu.Lock()
	defer l.cred.mu.Unlock()
	return l.cred.adds
}
