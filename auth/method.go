// Package auth turns the machine's identity into a Vault token and keeps
// that token alive: one file per auto-auth method, plus the token lifecycle
// (login, renew, log in again) in lifecycle.go.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/atomicfile"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// Method turns local credentials into a Vault token.
//
// Login blocks until Vault answers or ctx is done, and returns Vault's
// answer with Auth set (with WrapInfo instead when the lifecycle asks for
// a wrapped login through ctx: see wrapped.go). It does not retry: the
// lifecycle owns retries and backoff. c has no token set and may be used
// freely; Login must not keep it.
type Method interface {
	Login(ctx context.Context, c *api.Client) (*api.Secret, error)
}

// NewMethod builds the method m names. This switch is the registry of
// auth methods. Nothing is read from disk here: credentials are read at
// each login, so a rotated file is picked up.
func NewMethod(m MethodOptions, v vaultclient.Config, log *slog.Logger) (Method, error) {
	mount := strings.Trim(m.MountPath, "/")
	switch {
	case m.Type == "approle" && m.AppRole != nil:
		return &appRole{mount: mount, cfg: *m.AppRole, log: log}, nil
	case m.Type == "kubernetes" && m.Kubernetes != nil:
		return &kubernetes{mount: mount, cfg: *m.Kubernetes}, nil
	case m.Type == "jwt" && m.JWT != nil:
		return &jwt{mount: mount, cfg: *m.JWT}, nil
	case m.Type == "cert" && m.Cert != nil:
		return newCert(mount, *m.Cert, v)
	case m.Type == "token_file" && m.TokenFile != nil:
		return &tokenFile{path: m.TokenFile.Path}, nil
	case m.Type == "aws" && m.AWS != nil:
		return newAWS(mount, *m.AWS, log)
	case m.Type == "gcp" && m.GCP != nil:
		return newGCP(mount, *m.GCP, log)
	case m.Type == "azure" && m.Azure != nil:
		return newAzure(mount, *m.Azure, log)
	case m.Type == "alicloud" && m.AliCloud != nil:
		return newAliCloud(mount, *m.AliCloud, log)
	case m.Type == "ldap" && m.LDAP != nil:
		return newLDAP(mount, *m.LDAP, log)
	case m.Type == "kerberos" && m.Kerberos != nil:
		return newKerberos(mount, *m.Kerberos)
	case (m.Type == "cf" || m.Type == "pcf") && m.CF != nil:
		return newCF(mount, *m.CF)
	case m.Type == "oci" && m.OCI != nil:
		return newOCI(mount, *m.OCI)
	}
	return nil, fmt.Errorf("auth method %q: unknown, or its settings are missing", m.Type)
}

// ErrCredentials marks a login that failed because of the local
// credentials (missing or unreadable file, empty value), as opposed to
// Vault being unreachable.
var ErrCredentials = errors.New("credentials")

// loginClass is a failed login's class: credentials_unavailable when it
// failed on the machine's own identity (ErrCredentials) and not on a
// request to Vault (an AppRole unwrap that Vault answered, or that could
// not reach it, keeps Vault's class), else vaulterr.Classify's. A
// metadata service or KDC that does not answer is not Vault being
// unavailable.
func loginClass(err error) vaulterr.Class {
	c := vaulterr.Classify(err)
	var re *api.ResponseError
	var ne net.Error
	if c == vaulterr.Unavailable && errors.Is(err, ErrCredentials) && !errors.As(err, &re) && !errors.As(err, &ne) {
		return vaulterr.Credentials
	}
	return c
}

// maxCredentialBytes bounds a credential file read at each login. A
// role_id, secret_id or token is under 100 bytes, a JWT or service-account
// token a few KiB.
const maxCredentialBytes = 64 << 10

// readCredential reads a one-line secret from a file. Errors name the file
// and the key it came from, never the content. It never blocks: a named
// pipe, a device or a directory there is refused at once, as is a file
// larger than maxCredentialBytes (a login must not read /dev/zero, or hang
// on a FIFO someone put in place of the token).
func readCredential(path, what string) (string, error) {
	b, err := atomicfile.ReadRegular(path, maxCredentialBytes)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%w: read %s from %s: %v", ErrCredentials, what, path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%w: %s file %s is empty", ErrCredentials, what, path)
	}
	return s, nil
}

// loginWrite posts data to <mount>/login and checks the answer has a
// token, or, for a method with wrap_ttl (see wrapped.go), a wrapped one.
func loginWrite(ctx context.Context, c *api.Client, path string, data map[string]any) (*api.Secret, error) {
	for _, k := range credentialFields {
		if v, ok := data[k].(string); ok {
			noteCredential(ctx, v)
		}
	}
	if ttl, _ := ctx.Value(wrapTTLKey{}).(time.Duration); ttl > 0 {
		return wrappedLoginWrite(ctx, c, path, data, ttl)
	}
	s, err := c.Logical().WriteWithContext(ctx, path, data)
	if err != nil {
		return nil, fmt.Errorf("login at %s: %w", path, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return nil, fmt.Errorf("login at %s: Vault's answer has no token", path)
	}
	return s, nil
}

// clientWithCert is how the cert method gets a client presenting its own
// TLS certificate.
func clientWithCert(v vaultclient.Config, certFile, keyFile string) (*api.Client, error) {
	return vaultclient.New(v, vaultclient.Options{ClientCert: certFile, ClientKey: keyFile})
}
