package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/atomicfile"
)

// CFOptions configure the cf (Cloud Foundry) method.
type CFOptions struct {
	Role string
	// InstanceCert and InstanceKey are the paths of the instance identity
	// certificate and key; empty means $CF_INSTANCE_CERT and
	// $CF_INSTANCE_KEY, looked up at each login (Diego rotates them).
	InstanceCert, InstanceKey string
}

// The environment variables Diego sets in every Cloud Foundry container.
const (
	cfEnvCert = "CF_INSTANCE_CERT"
	cfEnvKey  = "CF_INSTANCE_KEY"
)

// cfTimeFormat is the cf plugin's signing_time format (UTC, seconds).
const cfTimeFormat = "2006-01-02T15:04:05Z"

// cf logs in with Vault's cf auth method. Diego gives each container an
// identity certificate (the instance's ID as CN; app, space and org IDs
// as OUs; its IP as SAN) and its RSA key. The login sends the certificate
// file (identity and intermediate certificates) with an RSA-PSS signature,
// by that key, over the signing time, the file and the role: Vault checks
// the signature, the chain up to its configured CA, and the IDs against
// the CF API.
type cf struct {
	mount string
	cfg   CFOptions
	env   func(string) (string, bool)
	now   func() time.Time
}

func newCF(mount string, o CFOptions) (Method, error) {
	if o.Role == "" {
		return nil, errors.New("cf: role is required")
	}
	return &cf{mount: mount, cfg: o, env: os.LookupEnv, now: time.Now}, nil
}

func (m *cf) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	data, err := m.loginData()
	if err != nil {
		return nil, fmt.Errorf("%w: cf login: %v", ErrCredentials, err)
	}
	return loginWrite(ctx, c, m.mount+"/login", data)
}

// path returns the configured path, or the environment variable's value.
func (m *cf) path(configured, env string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if p, _ := m.env(env); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("%s is not set (it is set in every Cloud Foundry container; or set the method's %s)", env, map[string]string{cfEnvCert: "cf_instance_cert", cfEnvKey: "cf_instance_key"}[env])
}

// loginData reads the certificate and key and signs, as the cf plugin's
// signatures.Sign does: RSA-PSS with SHA-256 (salt as long as the key
// allows) over SHA-256(signing time + certificate file + role), sent as
// "v1:" and standard base64.
func (m *cf) loginData() (map[string]any, error) {
	certPath, err := m.path(m.cfg.InstanceCert, cfEnvCert)
	if err != nil {
		return nil, err
	}
	cert, err := atomicfile.ReadRegular(certPath, maxCredentialBytes)
	if err != nil {
		return nil, fmt.Errorf("read the instance certificate: %v", err)
	}
	keyPath, err := m.path(m.cfg.InstanceKey, cfEnvKey)
	if err != nil {
		return nil, err
	}
	key, err := readCFKey(keyPath)
	if err != nil {
		return nil, err
	}
	at := m.now().UTC()
	signingTime := at.Format(cfTimeFormat)
	sum := sha256.Sum256([]byte(signingTime + string(cert) + m.cfg.Role))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], nil)
	if err != nil {
		return nil, fmt.Errorf("sign with the instance key: %v", err)
	}
	return map[string]any{
		"role":             m.cfg.Role,
		"cf_instance_cert": string(cert),
		"signing_time":     signingTime,
		"signature":        "v1:" + base64.StdEncoding.EncodeToString(sig),
	}, nil
}

// readCFKey reads the instance key: PEM, PKCS#1 RSA, as Diego writes it
// and as the cf plugin reads it. Errors never quote the file.
func readCFKey(path string) (*rsa.PrivateKey, error) {
	b, err := atomicfile.ReadRegular(path, maxCredentialBytes)
	if err != nil {
		return nil, fmt.Errorf("read the instance key: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("the instance key %s holds no PEM block", path)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the instance key %s is not a PKCS#1 RSA key (%q block)", path, block.Type)
	}
	return k, nil
}
