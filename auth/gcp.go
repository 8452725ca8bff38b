package auth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/atomicfile"
)

// gcpMethod logs in with Vault's gcp auth method, as Vault Agent's gcp
// method does. Type "gce" asks the metadata server for the instance's
// identity token (a JWT Google signs, naming the instance and its service
// account), with audience <vault address>/vault/<role>. Type "iam" has
// the service account's credentials sign a short JWT through the IAM
// Credentials API (signJwt), so Vault can check Google signed it.
type gcpMethod struct {
	mount string
	cfg   GCPOptions
	env   cloudEnv
	http  cloudClients
	now   func() time.Time
	log   *slog.Logger
	// iamEndpoint is the IAM Credentials API's base URL.
	iamEndpoint string
}

const (
	gcpIAMEndpoint = "https://iamcredentials.googleapis.com/"
	// gcpLegacyTokenURL is where a key found in the config, GOOGLE_CREDENTIALS
	// or ~/.gcp/credentials is exchanged for an access token, as Vault's
	// gcputil does; a key file of application default credentials names
	// its own token_uri (default gcpTokenURL).
	gcpLegacyTokenURL = "https://accounts.google.com/o/oauth2/token"
	gcpTokenURL       = "https://oauth2.googleapis.com/token"
	gcpScope          = "https://www.googleapis.com/auth/cloud-platform"
	gcpDefaultJWTExp  = 15 * time.Minute
)

func newGCP(mount string, o GCPOptions, log *slog.Logger) (Method, error) {
	switch {
	case o.Type != "gce" && o.Type != "iam":
		return nil, fmt.Errorf("gcp: type %q: use \"gce\" or \"iam\"", o.Type)
	case o.Role == "":
		return nil, errors.New("gcp: role is required")
	case o.JWTExp < 0:
		return nil, errors.New("gcp: jwt_exp must not be negative")
	}
	if o.JWTExp == 0 {
		o.JWTExp = gcpDefaultJWTExp
	}
	if o.ServiceAccount == "" && o.Type == "gce" {
		o.ServiceAccount = "default"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &gcpMethod{mount: mount, cfg: o, env: os.LookupEnv, http: defaultCloudClients(), now: time.Now, log: log,
		iamEndpoint: gcpIAMEndpoint}, nil
}

func (m *gcpMethod) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	var jwt string
	var err error
	if m.cfg.Type == "gce" {
		jwt, err = m.identityToken(ctx, c.Address())
	} else {
		jwt, err = m.signedJWT(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: gcp %s login: %v", ErrCredentials, m.cfg.Type, err)
	}
	return loginWrite(ctx, c, m.mount+"/login", map[string]any{"role": m.cfg.Role, "jwt": jwt})
}

// metadataHost is the GCE metadata server: GCE_METADATA_HOST, as Google's
// libraries read it, or its link-local address (GKE's metadata server
// for workload identity answers there too).
func (m *gcpMethod) metadataHost() string {
	if h := m.env.get("GCE_METADATA_HOST"); h != "" {
		return h
	}
	return "169.254.169.254"
}

func (m *gcpMethod) metadata(ctx context.Context, path string, q url.Values) ([]byte, error) {
	u := "http://" + m.metadataHost() + "/computeMetadata/v1/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	return cloudCall(m.http.local, req, "GCE metadata server "+path)
}

// identityToken is the gce login's JWT: the instance identity token, full
// format (with the instance's name, zone and project, which Vault's
// bound_zones and bound_instance_groups need).
func (m *gcpMethod) identityToken(ctx context.Context, vaultAddr string) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	q := url.Values{"audience": {vaultAddr + "/vault/" + m.cfg.Role}, "format": {"full"}}
	b, err := m.metadata(ctx, "instance/service-accounts/"+url.PathEscape(m.cfg.ServiceAccount)+"/identity", q)
	if err != nil {
		return "", err
	}
	jwt := strings.TrimSpace(string(b))
	if strings.Count(jwt, ".") != 2 {
		return "", errors.New("GCE metadata server: the identity token is not a JWT")
	}
	return jwt, nil
}

// signedJWT is the iam login's JWT: {aud: http://vault/<role>, sub: the
// service account, exp} signed by Google for that account.
func (m *gcpMethod) signedJWT(ctx context.Context) (string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	cr, err := m.findCredentials()
	if err != nil {
		return "", err
	}
	tok, err := m.accessToken(ctx, cr)
	if err != nil {
		return "", err
	}
	noteCredential(ctx, tok)
	sa := m.cfg.ServiceAccount
	if sa == "" || sa == "default" {
		// Vault Agent would ask to sign as "default", which the IAM API
		// refuses; the credentials' own account is what was meant.
		if sa, err = m.email(ctx, cr); err != nil {
			return "", err
		}
	}
	payload, err := json.Marshal(map[string]any{"aud": "http://vault/" + m.cfg.Role, "sub": sa, "exp": m.now().Add(m.cfg.JWTExp).Unix()})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]string{"payload": string(payload)})
	if err != nil {
		return "", err
	}
	name := "projects/-/serviceAccounts/" + sa
	u := m.iamEndpoint + "v1/" + name + ":signJwt?alt=json&prettyPrint=false"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	var out struct {
		SignedJwt string `json:"signedJwt"`
	}
	if err := cloudJSON(m.http.remote, req, "IAM signJwt for "+name+" (with "+cr.source+")", &out); err != nil {
		return "", err
	}
	if out.SignedJwt == "" {
		return "", fmt.Errorf("IAM signJwt for %s: no signed JWT in the answer", name)
	}
	m.log.Debug("gcp iam login", "credentials", cr.source, "service_account", sa)
	return out.SignedJwt, nil
}

// gcpCreds are Google credentials: a service-account key, or (key nil)
// the metadata server's default account.
type gcpCreds struct {
	source   string // where they came from, for messages
	key      *gcpKey
	tokenURL string
}

// gcpKey is a service-account key file (its JSON fields).
type gcpKey struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
}

// findCredentials looks where Vault Agent's iam login looks (Vault's
// gcputil.FindCredentials), read again at each login: the config's
// credentials, GOOGLE_CREDENTIALS, GOOGLE_CLOUD_KEYFILE_JSON and
// ~/.gcp/credentials (each a key's JSON), then application default
// credentials: GOOGLE_APPLICATION_CREDENTIALS (a key file's path), gcloud's
// well-known file, the metadata server. The first value found is used; one
// that is not JSON sends the search to application default credentials,
// as in Vault Agent.
func (m *gcpMethod) findCredentials() (gcpCreds, error) {
	type candidate struct{ source, json string }
	var found *candidate
	switch {
	case m.cfg.Credentials != "":
		found = &candidate{"the method's credentials", m.cfg.Credentials}
	case m.env.get("GOOGLE_CREDENTIALS") != "":
		found = &candidate{"GOOGLE_CREDENTIALS", m.env.get("GOOGLE_CREDENTIALS")}
	case m.env.get("GOOGLE_CLOUD_KEYFILE_JSON") != "":
		found = &candidate{"GOOGLE_CLOUD_KEYFILE_JSON", m.env.get("GOOGLE_CLOUD_KEYFILE_JSON")}
	default:
		if home := m.env.get("HOME"); home != "" {
			p := filepath.Join(home, ".gcp", "credentials")
			// Bounded and never blocking, as every credential file; an
			// unreadable one is skipped, as Vault's gcputil skips it.
			if b, err := atomicfile.ReadRegular(p, maxCredentialBytes); err == nil {
				found = &candidate{p, string(b)}
			}
		}
	}
	if found != nil {
		var k gcpKey
		if err := json.Unmarshal([]byte(found.json), &k); err == nil {
			return gcpCreds{source: found.source, key: &k, tokenURL: gcpLegacyTokenURL}, nil
		}
		m.log.Warn("gcp: credentials are not JSON; using application default credentials", "source", found.source)
	}
	return m.defaultCredentials()
}

// defaultCredentials are Google's application default credentials, for
// service-account keys and the metadata server.
func (m *gcpMethod) defaultCredentials() (gcpCreds, error) {
	path, source := m.env.get("GOOGLE_APPLICATION_CREDENTIALS"), "GOOGLE_APPLICATION_CREDENTIALS"
	if path == "" {
		dir := m.env.get("CLOUDSDK_CONFIG")
		if home := m.env.get("HOME"); dir == "" && home != "" {
			dir = filepath.Join(home, ".config", "gcloud")
		}
		if p := filepath.Join(dir, "application_default_credentials.json"); dir != "" {
			if _, err := os.Stat(p); err == nil {
				path, source = p, p
			}
		}
	}
	if path == "" {
		return gcpCreds{source: "the metadata server's default service account"}, nil
	}
	b, err := readCredential(path, "Google credentials ("+source+")")
	if err != nil {
		return gcpCreds{}, err
	}
	var k gcpKey
	if err := json.Unmarshal([]byte(b), &k); err != nil {
		return gcpCreds{}, fmt.Errorf("credentials file %s (%s) is not JSON", path, source)
	}
	if k.Type != "service_account" {
		return gcpCreds{}, fmt.Errorf("credentials file %s (%s) has type %q: rotor logs in with service_account keys or the metadata server", path, source, k.Type)
	}
	tu := k.TokenURI
	if tu == "" {
		tu = gcpTokenURL
	}
	return gcpCreds{source: path, key: &k, tokenURL: tu}, nil
}

// email is the account cr's credentials belong to.
func (m *gcpMethod) email(ctx context.Context, cr gcpCreds) (string, error) {
	if cr.key != nil {
		return cr.key.ClientEmail, nil
	}
	b, err := m.metadata(ctx, "instance/service-accounts/default/email", nil)
	return strings.TrimSpace(string(b)), err
}

// accessToken returns an OAuth access token for cr.
func (m *gcpMethod) accessToken(ctx context.Context, cr gcpCreds) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if cr.key == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+m.metadataHost()+
			"/computeMetadata/v1/instance/service-accounts/default/token?"+url.Values{"scopes": {gcpScope}}.Encode(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Metadata-Flavor", "Google")
		if err := cloudJSON(m.http.local, req, "GCE metadata server token", &out); err != nil {
			return "", err
		}
		if out.AccessToken == "" {
			return "", errors.New("GCE metadata server token: no access token in the answer")
		}
		return out.AccessToken, nil
	}
	noteCredential(ctx, cr.key.PrivateKey)
	key, err := parseRSAKey(cr.key.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("service-account key (%s): %v", cr.source, err)
	}
	now := m.now()
	assertion, err := signRS256(key, cr.key.PrivateKeyID, map[string]any{"iss": cr.key.ClientEmail, "scope": gcpScope,
		"aud": cr.tokenURL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		return "", err
	}
	noteCredential(ctx, assertion) // a bearer credential for an hour
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cr.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := cloudJSON(m.http.remote, req, "Google token endpoint (with "+cr.source+")", &out); err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", errors.New("token endpoint: Google answered no access token")
	}
	return out.AccessToken, nil
}

// parseRSAKey reads a PEM RSA private key (PKCS#8 or PKCS#1).
func parseRSAKey(s string) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode([]byte(s))
	if blk == nil {
		return nil, errors.New("private_key is not PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("private_key is not an RSA key")
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("private_key is neither a PKCS#8 nor a PKCS#1 RSA key")
	}
	return k, nil
}
