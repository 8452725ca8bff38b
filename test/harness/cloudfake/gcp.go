package cloudfake

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The fake GCE instance and its project.
const (
	GCPProject        = "rotor-test"
	GCPDefaultAccount = "vm-sa@rotor-test.iam.gserviceaccount.com" // the instance's "default" service account
	GCPZone           = "us-central1-a"
	GCPInstanceName   = "vm-1"
	GCPInstanceID     = "4213749528197641001"
)

// CloudPlatformScope is the OAuth scope Vault Agent's iam login asks for.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

type gcpAccount struct {
	uniqueID string
	sysKey   *rsa.PrivateKey // Google-managed: signs signJwt answers
	sysKid   string
	userKey  *rsa.PrivateKey // the key in a downloaded JSON key file, if any
	userKid  string
}

type gcpState struct {
	google   *rsa.PrivateKey // signs instance identity tokens
	googKid  string
	accounts map[string]*gcpAccount // by email
	tokens   map[string]string      // access token -> email
	seq      int
}

func (g *gcpState) init() {
	g.google, g.googKid = mustRSA(), randomID(20)
	g.accounts = map[string]*gcpAccount{}
	g.tokens = map[string]string{}
	g.account(GCPDefaultAccount)
}

func (g *gcpState) account(email string) *gcpAccount {
	a := g.accounts[email]
	if a == nil {
		g.seq++
		a = &gcpAccount{uniqueID: "10" + strings.Repeat("7", 16) + string(rune('0'+g.seq%10)), sysKey: mustRSA(), sysKid: randomID(20)}
		g.accounts[email] = a
	}
	return a
}

func (g *gcpState) issueToken(email string) map[string]any {
	tok := "ya29.fake-" + randomID(16)
	g.tokens[tok] = email
	return map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"}
}

// GCPServiceAccountKey makes a service account (if new) with a new
// user-managed key and returns its JSON key file, as the console
// downloads it. tokenURI is the file's token_uri ("" for Google's).
func (f *Fake) GCPServiceAccountKey(email, tokenURI string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.gcp.account(email)
	a.userKey, a.userKid = mustRSA(), randomID(20)
	der, _ := x509.MarshalPKCS8PrivateKey(a.userKey)
	if tokenURI == "" {
		tokenURI = "https://oauth2.googleapis.com/token"
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": GCPProject, "private_key_id": a.userKid,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": email, "client_id": a.uniqueID, "token_uri": tokenURI,
		"auth_uri": "https://accounts.google.com/o/oauth2/auth",
	}, "", "  ")
	return b
}

// GCPIdentityKey is the public key that signs instance identity tokens.
func (f *Fake) GCPIdentityKey() *rsa.PublicKey { return &f.gcp.google.PublicKey }

// GCPSigningKey is the public key signJwt signs email's JWTs with, and
// its key ID.
func (f *Fake) GCPSigningKey(email string) (*rsa.PublicKey, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.gcp.account(email)
	return &a.sysKey.PublicKey, a.sysKid
}

func gcpError(code int, status, msg string) (int, any) {
	return code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}}
}

func (f *Fake) gcpMetadata(r Request) (int, any) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		return http.StatusForbidden, "Missing required header \"Metadata-Flavor\": \"Google\"\n"
	}
	g := &f.gcp
	rest, ok := strings.CutPrefix(r.Path, "/computeMetadata/v1/instance/service-accounts/")
	if !ok {
		switch r.Path {
		case "/computeMetadata/v1/project/project-id":
			return http.StatusOK, GCPProject
		case "/computeMetadata/v1/instance/zone":
			return http.StatusOK, "projects/123456789/zones/" + GCPZone
		}
		return http.StatusNotFound, "Not Found\n"
	}
	sa, what, _ := strings.Cut(rest, "/")
	if sa == "default" {
		sa = GCPDefaultAccount
	}
	if sa != GCPDefaultAccount {
		return http.StatusNotFound, "Not Found\n" // only the instance's account is attached
	}
	switch what {
	case "email":
		return http.StatusOK, sa
	case "token":
		return http.StatusOK, g.issueToken(sa)
	case "identity":
		aud := r.Query.Get("audience")
		if aud == "" {
			return http.StatusBadRequest, "non-empty audience parameter required\n"
		}
		now := time.Now().Unix()
		a := g.account(sa)
		claims := map[string]any{"iss": "https://accounts.google.com", "aud": aud, "azp": a.uniqueID, "sub": a.uniqueID,
			"email": sa, "email_verified": true, "iat": now, "exp": now + 3600}
		if r.Query.Get("format") == "full" {
			claims["google"] = map[string]any{"compute_engine": map[string]any{"project_id": GCPProject,
				"project_number": 123456789, "zone": GCPZone, "instance_id": GCPInstanceID,
				"instance_name": GCPInstanceName, "instance_creation_timestamp": 1700000000}}
		}
		return http.StatusOK, signJWT(g.google, g.googKid, claims)
	}
	return http.StatusNotFound, "Not Found\n"
}

// gcpToken is Google's OAuth 2.0 token endpoint: the JWT-bearer grant
// signed with a service-account key.
func (f *Fake) gcpToken(r Request) (int, any) {
	form, _ := url.ParseQuery(string(r.Body))
	if r.Method != http.MethodPost || form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"}
	}
	j, _, err := ParseJWT(form.Get("assertion"))
	if err != nil {
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": err.Error()}
	}
	email, _ := j.Claims["iss"].(string)
	a := f.gcp.accounts[email]
	if a == nil || a.userKey == nil {
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
	}
	if _, err := VerifyJWT(form.Get("assertion"), &a.userKey.PublicKey); err != nil {
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
	}
	if aud, _ := j.Claims["aud"].(string); aud != "https://oauth2.googleapis.com/token" && aud != "https://accounts.google.com/o/oauth2/token" {
		return http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT: Failed audience check."}
	}
	if sc, _ := j.Claims["scope"].(string); sc == "" {
		return http.StatusBadRequest, map[string]string{"error": "invalid_scope"}
	}
	return http.StatusOK, f.gcp.issueToken(email)
}

// gcpSignJwt is iamcredentials.googleapis.com's signJwt: the caller's
// bearer token, the payload signed with the account's Google-managed key.
func (f *Fake) gcpSignJwt(r Request) (int, any) {
	g := &f.gcp
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if g.tokens[tok] == "" {
		return gcpError(http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/v1/projects/-/serviceAccounts/"), ":signJwt")
	a := g.accounts[name]
	if a == nil {
		return gcpError(http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+name)
	}
	var in struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil || !json.Valid([]byte(in.Payload)) {
		return gcpError(http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JWT payload.")
	}
	return http.StatusOK, map[string]string{"keyId": a.sysKid, "signedJwt": signJWT(a.sysKey, a.sysKid, []byte(in.Payload))}
}
