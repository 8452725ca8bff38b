package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// OCIOptions configure the oci method. Only Type "apikey" exists: the
// configuration refuses "instance" (instance principals) with the reason.
type OCIOptions struct {
	Type string
	Role string
}

// oci logs in with Vault's oci auth method, as Vault Agent's oci method
// does with type "apikey": it signs a GET of Vault's own login URL
// (<address>/v1/<mount>/login/<role>) with the user's OCI API key, in
// OCI's HTTP signature scheme, and sends the signed headers to
// <mount>/login/<role> as request_headers. Vault hands them to OCI's
// identity service, which checks the signature and names the principal.
// The key and its identifiers come from OCI's usual places (ocicreds.go),
// read at each login.
type oci struct {
	mount string
	cfg   OCIOptions
	creds ociCreds
	now   func() time.Time
}

func newOCI(mount string, o OCIOptions) (Method, error) {
	switch {
	case o.Role == "":
		return nil, errors.New("oci: role is required")
	case o.Type == "instance":
		return nil, errors.New("oci: type \"instance\" (instance principal) is not supported: use \"apikey\"")
	case o.Type != "apikey":
		return nil, fmt.Errorf("oci: type %q: use \"apikey\"", o.Type)
	}
	return &oci{mount: mount, cfg: o, creds: ociCreds{env: os.LookupEnv, home: homeDir}, now: time.Now}, nil
}

func (m *oci) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	h, err := m.signedHeaders(ctx, c.Address())
	if err != nil {
		return nil, fmt.Errorf("%w: oci login: %v", ErrCredentials, err)
	}
	return loginWrite(ctx, c, m.mount+"/login/"+m.cfg.Role, map[string]any{"request_headers": h})
}

// ociSignedHeaders are the headers OCI's signature covers, in order, for
// a request without a body.
const ociSignedHeaders = "date (request-target) host"

// signedHeaders returns the headers of the signed login request, as Vault
// Agent sends them: Date, Authorization, and two that Vault reads back,
// Host and "(request-target)".
func (m *oci) signedHeaders(ctx context.Context, vaultAddr string) (http.Header, error) {
	reqPath := "/v1/" + m.mount + "/login/" + m.cfg.Role
	u, err := url.Parse(vaultAddr + reqPath)
	if err != nil {
		return nil, fmt.Errorf("the Vault address does not parse: %v", err)
	}
	key, err := m.creds.privateKey()
	if err != nil {
		return nil, err
	}
	keyID, err := m.creds.keyID()
	if err != nil {
		return nil, err
	}
	if tok, ok := strings.CutPrefix(keyID, "ST$"); ok {
		// A session token is a bearer credential, sent in the keyId.
		noteCredential(ctx, tok)
	}
	date := m.now().UTC().Format(http.TimeFormat)
	sig, err := ociSign(key, date, "get "+u.RequestURI(), u.Host)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Date", date)
	h.Set("Authorization", fmt.Sprintf(`Signature version="1",headers=%q,keyId=%q,algorithm="rsa-sha256",signature=%q`,
		ociSignedHeaders, keyID, sig))
	h.Set("Host", u.Host)
	// Not a canonical header name: Set keeps it as it is.
	h.Set("(request-target)", "get "+reqPath)
	return h, nil
}

// ociSign is OCI's request signature (draft-cavage HTTP signatures): RSA
// PKCS#1 v1.5 with SHA-256 over "name: value" lines of the signed
// headers, in order, joined by newlines; base64.
func ociSign(key *rsa.PrivateKey, date, target, host string) (string, error) {
	signing := strings.Join([]string{"date: " + date, "(request-target): " + target, "host: " + host}, "\n")
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign with the API key: %v", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}
