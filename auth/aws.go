package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/auth/internal/awscred"
)

// awsMethod logs in with Vault's aws auth method, as Vault Agent's aws
// method does. Type "iam" signs an sts:GetCallerIdentity request with the
// machine's AWS credentials and hands it to Vault, which forwards it to
// STS: STS's answer tells Vault who signed. Type "ec2" sends the instance
// identity document and its signature from the instance metadata
// service, with a nonce.
type awsMethod struct {
	mount string
	cfg   AWSOptions
	chain *awscred.Chain // iam: looked up at each login, temporary keys cached
	imds  *awscred.IMDS  // ec2
	env   awscred.Env
	now   func() time.Time
	log   *slog.Logger
	// nonce is the ec2 reauthentication nonce: the configured one, or one
	// made up at the first login (madeUp) and kept for this run.
	nonce  string
	madeUp bool
}

func newAWS(mount string, o AWSOptions, log *slog.Logger) (Method, error) {
	switch {
	case o.Type != "iam" && o.Type != "ec2":
		return nil, fmt.Errorf("aws: type %q: use \"iam\" or \"ec2\"", o.Type)
	case o.Role == "":
		return nil, errors.New("aws: role is required")
	case (o.AccessKey == "") != (o.SecretKey == ""):
		return nil, errors.New("aws: access_key and secret_key must be set together")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static := awscred.Credentials{AccessKeyID: o.AccessKey, SecretAccessKey: o.SecretKey, SessionToken: o.SessionToken}
	return &awsMethod{mount: mount, cfg: o, chain: awscred.NewChain(static), imds: awscred.NewIMDS(os.LookupEnv, awscred.LocalClient()),
		env: os.LookupEnv, now: time.Now, log: log, nonce: o.Nonce}, nil
}

func (m *awsMethod) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	var data map[string]any
	var err error
	if m.cfg.Type == "ec2" {
		data, err = m.ec2Data(ctx)
	} else {
		data, err = m.iamData(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: aws %s login: %v", ErrCredentials, m.cfg.Type, err)
	}
	data["role"] = m.cfg.Role
	s, err := loginWrite(ctx, c, m.mount+"/login", data)
	if err != nil && m.madeUp && strings.Contains(err.Error(), "client nonce mismatch") {
		// Vault remembers the nonce of this instance's first login; a
		// restart made up a new one. Vault Agent fails the same way.
		err = fmt.Errorf("%w (rotor made up a new nonce at start: set the method's nonce to keep one across restarts, "+
			"or remove this instance from auth/%s/identity-accesslist)", err, strings.TrimPrefix(m.mount, "auth/"))
	}
	return s, err
}

// iamData is Vault's iam login: the signed request, base64-encoded.
func (m *awsMethod) iamData(ctx context.Context) (map[string]any, error) {
	cr, err := m.chain.Get(ctx)
	if err != nil {
		return nil, err
	}
	noteCredential(ctx, cr.SecretAccessKey)
	noteCredential(ctx, cr.SessionToken)
	region := m.cfg.Region
	if region == "" {
		region = awscred.DefaultRegion
	}
	regional, _ := m.env("AWS_STS_REGIONAL_ENDPOINTS")
	url := awscred.STSURL(region, strings.EqualFold(strings.TrimSpace(regional), "regional"))
	h := awscred.SignedCallerIdentity(cr, region, url, m.cfg.HeaderValue, m.now())
	headers, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	m.log.Debug("aws iam login", "credentials", cr, "region", region, "sts", url)
	b64 := base64.StdEncoding.EncodeToString
	return map[string]any{
		"iam_http_request_method": "POST",
		"iam_request_url":         b64([]byte(url)),
		"iam_request_body":        b64([]byte(awscred.CallerIdentityBody)),
		"iam_request_headers":     b64(headers),
	}, nil
}

// ec2Data is Vault's ec2 login as Vault Agent sends it: the identity
// document (base64) and its RSA signature (not the PKCS#7 form), so that
// an identity certificate registered in Vault for Vault Agent
// (config/certificate, type "identity") serves rotor too.
func (m *awsMethod) ec2Data(ctx context.Context) (map[string]any, error) {
	doc, err := m.imds.Get(ctx, "/latest/dynamic/instance-identity/document")
	if err != nil {
		return nil, err
	}
	sig, err := m.imds.Get(ctx, "/latest/dynamic/instance-identity/signature")
	if err != nil {
		return nil, err
	}
	if m.nonce == "" {
		if m.nonce, err = newNonce(); err != nil {
			return nil, err
		}
		m.madeUp = true
		m.log.Info("aws ec2: no nonce configured; made one up for this run (after a restart, Vault refuses a new nonce for this instance unless its role allows instance migration)")
	}
	return map[string]any{
		"identity":  base64.StdEncoding.EncodeToString(doc),
		"signature": strings.TrimSpace(string(sig)),
		"nonce":     m.nonce,
	}, nil
}

// newNonce returns a random UUID (version 4), the form Vault Agent uses.
func newNonce() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
