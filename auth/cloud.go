package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rotorproject/rotor/auth/internal/awscred"
)

// This file holds what the gcp, azure and alicloud methods share: their
// HTTP clients, the environment they read, one way to call a JSON API and
// an RS256 JWT signer. None of them uses a cloud SDK: each login is a few
// small HTTP calls (see docs/architecture.md, Libraries).

// cloudEnv looks up an environment variable (os.LookupEnv; a map in tests).
type cloudEnv func(string) (string, bool)

// get returns the variable's value, trimmed ("" if unset).
func (e cloudEnv) get(name string) string {
	v, _ := e(name)
	return strings.TrimSpace(v)
}

// cloudClients are a method's two HTTP clients: remote for the clouds'
// public APIs (through HTTPS_PROXY like their SDKs, with the system's
// CAs), local for the link-local metadata services (never through a
// proxy, which would receive the machine's credentials; quick to give up
// off the cloud).
type cloudClients struct {
	remote, local *http.Client
}

func defaultCloudClients() cloudClients {
	return cloudClients{remote: awscred.DefaultClient(), local: awscred.LocalClient()}
}

// maxCloudBody bounds an answer from a metadata service or token endpoint.
const maxCloudBody = 1 << 20

// cloudCall sends req and returns the body of a 200 answer. Any other
// status is an error naming what (e.g. "instance metadata") and the
// service's own error message, never the request's credentials.
func cloudCall(c *http.Client, req *http.Request, what string) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, trimURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCloudBody))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d%s", what, resp.StatusCode, cloudError(b))
	}
	return b, nil
}

// cloudJSON is cloudCall decoding a JSON answer into dst.
func cloudJSON(c *http.Client, req *http.Request, what string, dst any) error {
	b, err := cloudCall(c, req, what)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%s: the answer is not the JSON expected: %v", what, err)
	}
	return nil
}

// trimURLError drops the URL from an *url.Error's text: the method
// names the service itself, and some URLs carry query values.
func trimURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && strings.Contains(err.Error(), "://") {
		if inner := u.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// cloudError extracts a service's error message from an error answer:
// OAuth's error/error_description, Google's error.message, Alibaba's
// Code/Message; otherwise up to 200 bytes of text.
func cloudError(b []byte) string {
	var e struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Code             string          `json:"Code"`
		Message          string          `json:"Message"`
	}
	if json.Unmarshal(b, &e) == nil {
		var s string
		var g struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		}
		switch {
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			if e.ErrorDescription != "" {
				s += ": " + firstLine(e.ErrorDescription)
			}
			return ": " + s
		case json.Unmarshal(e.Error, &g) == nil && g.Message != "":
			return ": " + g.Status + ": " + g.Message
		case e.Code != "":
			return ": " + e.Code + ": " + e.Message
		}
	}
	t := strings.TrimSpace(string(b))
	if len(t) > 200 {
		t = t[:200] + "..."
	}
	if t == "" {
		return ""
	}
	return ": " + firstLine(t)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}

// signRS256 returns a compact JWS (RS256) of claims, with kid in the
// header if set.
func signRS256(key *rsa.PrivateKey, kid string, claims any) (string, error) {
	h := map[string]string{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString
	in := enc(hb) + "." + enc(cb)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return in + "." + enc(sig), nil
}

// withTimeout bounds one call to a cloud service within a login.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 30*time.Second)
}
