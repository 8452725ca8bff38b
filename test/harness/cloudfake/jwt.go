package cloudfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

var b64 = base64.RawURLEncoding

// signJWT returns an RS256 JWT of claims, with kid in its header if set.
func signJWT(key *rsa.PrivateKey, kid string, claims any) string {
	h := map[string]string{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	hb, _ := json.Marshal(h)
	cb, ok := claims.([]byte)
	if !ok {
		cb, _ = json.Marshal(claims)
	}
	in := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return in + "." + b64.EncodeToString(sig)
}

// JWT is a decoded JWT.
type JWT struct {
	Header map[string]any
	Claims map[string]any
}

// VerifyJWT checks token's RS256 signature with pub and decodes it.
func VerifyJWT(token string, pub *rsa.PublicKey) (*JWT, error) {
	j, parts, err := ParseJWT(token)
	if err != nil {
		return nil, err
	}
	if j.Header["alg"] != "RS256" {
		return nil, fmt.Errorf("alg %v, want RS256", j.Header["alg"])
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: %v", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errors.New("bad JWT signature")
	}
	return j, nil
}

// ParseJWT decodes token without checking its signature.
func ParseJWT(token string) (*JWT, []string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a JWT (want three dot-separated parts)")
	}
	j := &JWT{}
	for i, dst := range []*map[string]any{&j.Header, &j.Claims} {
		b, err := b64.DecodeString(parts[i])
		if err != nil {
			return nil, nil, fmt.Errorf("JWT part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return nil, nil, fmt.Errorf("JWT part %d: %v", i, err)
		}
	}
	return j, parts, nil
}
