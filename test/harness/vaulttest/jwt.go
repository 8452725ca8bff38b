package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// JWTIssuer signs JWTs (ES256) that Vault's jwt auth method, configured by
// SetupJWT or Configure, accepts.
type JWTIssuer struct {
	// Issuer is the "iss" claim of tokens made by Token.
	Issuer string
	// Audience is the "aud" claim of tokens made by Token and the role's
	// bound_audiences.
	Audience string
	// PublicKeyPEM is the PKIX public key Vault verifies signatures with.
	PublicKeyPEM string

	key *ecdsa.PrivateKey
}

// NewJWTIssuer returns an issuer with a fresh P-256 key.
func NewJWTIssuer(t testing.TB, audience string) *JWTIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("vaulttest: jwt key: %v", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("vaulttest: jwt public key: %v", err)
	}
	return &JWTIssuer{
		Issuer:       "https://vaulttest.invalid/issuer",
		Audience:     audience,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		key:          key,
	}
}

// SetupJWT enables the jwt auth method at mount, trusting a new issuer's
// key, and creates role (role_type "jwt", user_claim "sub", bound_audiences
// boundAudience, token_ttl ttl, token_policies ["default", role]).
//
// Vault's jwt method accepts tokens up to 150s after "exp" and 60s of clock
// skew by default (expiration_leeway, clock_skew_leeway): a test that needs
// a rejected, expired token must make it expire well before that.
func SetupJWT(t testing.TB, c *api.Client, mount, role, boundAudience, ttl string) *JWTIssuer {
	t.Helper()
	j := NewJWTIssuer(t, boundAudience)
	j.Configure(t, c, mount, role, ttl)
	return j
}

// Configure points the jwt auth method at mount (enabling it if needed) at
// this issuer's key and writes role as SetupJWT describes. Use it to set a
// restarted server up again with the same issuer.
func (j *JWTIssuer) Configure(t testing.TB, c *api.Client, mount, role, ttl string) {
	t.Helper()
	EnableAuth(t, c, mount, "jwt")
	write(t, c, authPath(mount, "config"), map[string]any{
		"jwt_validation_pubkeys": []string{j.PublicKeyPEM},
		// Without this Vault expects RS256 only and rejects every ES256 token.
		"jwt_supported_algs": []string{"ES256"},
	})
	write(t, c, authPath(mount, "role", role), map[string]any{
		"role_type":       "jwt",
		"user_claim":      "sub",
		"bound_audiences": []string{j.Audience},
		"token_ttl":       ttl,
		"token_policies":  rolePolicies(role),
	})
}

// Token returns a signed JWT for subject sub with iss, aud, iat, nbf set to
// now and exp to now+ttl (a negative ttl makes an expired token).
func (j *JWTIssuer) Token(t testing.TB, sub string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	return j.Sign(t, map[string]any{
		"iss": j.Issuer,
		"sub": sub,
		"aud": j.Audience,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	})
}

// Sign returns a JWT with exactly the given claims, signed with the issuer's
// key. Use it for tokens Token cannot make (wrong audience, extra claims).
func (j *JWTIssuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	s, err := signES256(j.key, claims)
	if err != nil {
		t.Fatalf("vaulttest: sign jwt: %v", err)
	}
	return s
}

// signES256 makes a compact JWS: base64url(header).base64url(claims).sig,
// where sig is R||S, each left-padded to 32 bytes (RFC 7518 3.4), not the
// ASN.1 form crypto/ecdsa.SignASN1 produces.
func signES256(key *ecdsa.PrivateKey, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig), nil
}

// jwtClaims decodes the claims of a compact JWT without verifying it.
func jwtClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}
