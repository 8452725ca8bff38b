package vaulttest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// login writes to auth/<mount>/login with a token-less client and returns
// the client token, failing the test on error.
func login(t *testing.T, c *api.Client, mount string, data map[string]any) string {
	t.Helper()
	s, err := c.Logical().Write("auth/"+mount+"/login", data)
	if err != nil {
		t.Fatalf("login %s: %v", mount, err)
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		t.Fatalf("login %s: no auth in response", mount)
	}
	return s.Auth.ClientToken
}

// loginFails asserts that a login is refused with 400 or 403.
func loginFails(t *testing.T, c *api.Client, mount string, data map[string]any) {
	t.Helper()
	_, err := c.Logical().Write("auth/"+mount+"/login", data)
	var re *api.ResponseError
	if !errors.As(err, &re) || (re.StatusCode != http.StatusForbidden && re.StatusCode != http.StatusBadRequest) {
		t.Fatalf("login %s: got err %v, want 400 or 403", mount, err)
	}
}

// checkToken looks token up with itself and checks its policies and TTL.
func checkToken(t *testing.T, srv *Server, token, policy string, maxTTL time.Duration) {
	t.Helper()
	s, err := srv.NewClient(t, token).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatalf("lookup-self: %v", err)
	}
	pols, err := s.TokenPolicies()
	if err != nil || !slices.Contains(pols, policy) {
		t.Errorf("policies = %v (%v), want %q among them", pols, err, policy)
	}
	ttl, err := s.TokenTTL()
	if err != nil || ttl <= 0 || ttl > maxTTL {
		t.Errorf("ttl = %v (%v), want in (0, %v]", ttl, err, maxTTL)
	}
}

func TestAuthMethods(t *testing.T) {
	srv := Start(t)
	root := srv.Client(t)
	anon := srv.NewClient(t, "")

	t.Run("approle", func(t *testing.T) {
		roleID, secretID := SetupAppRole(t, root, "approle", "app", map[string]any{"token_ttl": "10m"})
		tok := login(t, anon, "approle", map[string]any{"role_id": roleID, "secret_id": secretID})
		checkToken(t, srv, tok, "app", 10*time.Minute)
		loginFails(t, anon, "approle", map[string]any{"role_id": roleID, "secret_id": "wrong"})

		// A second role on the same mount reuses it.
		_, _ = SetupAppRole(t, root, "approle", "other", nil)

		wrapTok := WrappedSecretID(t, root, "approle", "app", "5m")
		s, err := srv.NewClient(t, wrapTok).Logical().Unwrap("")
		if err != nil {
			t.Fatalf("unwrap: %v", err)
		}
		sid, _ := s.Data["secret_id"].(string)
		login(t, anon, "approle", map[string]any{"role_id": roleID, "secret_id": sid})
	})

	t.Run("kubernetes", func(t *testing.T) {
		kube := SetupKubernetes(t, root, "kubernetes", "web", "web-sa", "prod", "15m")
		jwt := kube.NewToken("prod", "web-sa")
		tok := login(t, anon, "kubernetes", map[string]any{"role": "web", "jwt": jwt})
		checkToken(t, srv, tok, "web", 15*time.Minute)
		if kube.Reviews() == 0 {
			t.Errorf("Vault did not call the TokenReview API")
		}

		loginFails(t, anon, "kubernetes", map[string]any{"role": "web", "jwt": kube.NewToken("dev", "web-sa")})
		loginFails(t, anon, "kubernetes", map[string]any{"role": "web", "jwt": kube.NewToken("prod", "other")})
		kube.RemoveToken(jwt) // the account was deleted
		loginFails(t, anon, "kubernetes", map[string]any{"role": "web", "jwt": jwt})
	})

	t.Run("jwt", func(t *testing.T) {
		iss := SetupJWT(t, root, "jwt", "ci", "rotor-test", "20m")
		tok := login(t, anon, "jwt", map[string]any{"role": "ci", "jwt": iss.Token(t, "job-1", time.Minute)})
		checkToken(t, srv, tok, "ci", 20*time.Minute)
		meta := TokenLookup(t, root, tok)["meta"].(map[string]any)
		if meta["role"] != "ci" {
			t.Errorf("token meta = %v, want role=ci", meta)
		}

		now := time.Now().Unix()
		wrongAud := iss.Sign(t, map[string]any{"sub": "job-1", "aud": "someone-else", "iat": now, "exp": now + 60})
		loginFails(t, anon, "jwt", map[string]any{"role": "ci", "jwt": wrongAud})
		// Beyond the default 150s expiration leeway.
		loginFails(t, anon, "jwt", map[string]any{"role": "ci", "jwt": iss.Token(t, "job-1", -5*time.Minute)})
		other := NewJWTIssuer(t, "rotor-test")
		loginFails(t, anon, "jwt", map[string]any{"role": "ci", "jwt": other.Token(t, "job-1", time.Minute)})
	})

	t.Run("policy-secrets-revoke", func(t *testing.T) {
		EnableSecrets(t, root, "kv1", "kv", map[string]any{"version": 1})
		EnableSecrets(t, root, "kv1", "kv", nil) // already there: no-op
		WritePolicy(t, root, "reader", `path "kv1/*" { capabilities = ["read"] }`)
		if _, err := root.Logical().Write("kv1/app", map[string]any{"password": "pw"}); err != nil {
			t.Fatal(err)
		}
		roleID, secretID := SetupAppRole(t, root, "approle", "reader", nil)
		tok := login(t, anon, "approle", map[string]any{"role_id": roleID, "secret_id": secretID})
		c := srv.NewClient(t, tok)
		s, err := c.Logical().Read("kv1/app")
		if err != nil || s == nil || s.Data["password"] != "pw" {
			t.Fatalf("read kv1/app = %v, %v", s, err)
		}

		RevokeToken(t, root, tok)
		Eventually(t, 5*time.Second, func() error {
			_, err := c.Auth().Token().LookupSelf()
			if err == nil {
				return errors.New("token still valid")
			}
			return nil
		})
	})
}

func TestCertAuthTLS(t *testing.T) {
	srv := Start(t, WithTLS())
	if !strings.HasPrefix(srv.Addr, "https://127.0.0.1:") {
		t.Fatalf("Addr = %q, want https on 127.0.0.1", srv.Addr)
	}
	if filepath.Base(srv.CACert) != "vault-ca.pem" {
		t.Errorf("CACert = %q, want .../vault-ca.pem", srv.CACert)
	}
	root := srv.Client(t)
	ca, client := NewClientCert(t, "agent.example")
	SetupCert(t, root, "cert", "agents", ca.CertPEM, "30m")

	tok := login(t, srv.NewCertClient(t, client), "cert", map[string]any{"name": "agents"})
	checkToken(t, srv, tok, "agents", 30*time.Minute)

	loginFails(t, srv.NewClient(t, ""), "cert", map[string]any{"name": "agents"})
	_, otherClient := NewClientCert(t, "intruder")
	loginFails(t, srv.NewCertClient(t, otherClient), "cert", map[string]any{"name": "agents"})
}

func TestRestart(t *testing.T) {
	srv := Start(t, WithTLS())
	const roleID, secretID = "fixed-role-id", "fixed-secret-id"
	setup := func(c *api.Client) {
		SetupAppRole(t, c, "approle", "app", map[string]any{"role_id": roleID})
		CustomSecretID(t, c, "approle", "app", secretID)
	}
	setup(srv.Client(t))
	// Made before the restart: must keep working after it (same address, same CA).
	anon := srv.NewClient(t, "")
	anon.SetMaxRetries(0) // fail fast while Vault is down
	creds := map[string]any{"role_id": roleID, "secret_id": secretID}
	tok := login(t, anon, "approle", creds)

	srv.Stop()
	if _, err := anon.Sys().Health(); err == nil {
		t.Fatal("health succeeded while Vault was stopped")
	}
	srv.Stop() // idempotent

	srv.Restart(t, setup)
	if _, err := srv.NewClient(t, tok).Auth().Token().LookupSelf(); err == nil {
		t.Error("token from before the restart is still valid; dev mode should have lost it")
	}
	tok2 := login(t, anon, "approle", creds)
	checkToken(t, srv, tok2, "app", 32*24*time.Hour)
	if b, err := os.ReadFile(srv.LogFile); err != nil || bytes.Count(b, []byte("=== vaulttest: starting vault")) != 2 {
		t.Errorf("log file should record two starts (err %v)", err)
	}
}

// The tests below need no Vault binary.

func TestSignES256(t *testing.T) {
	iss := NewJWTIssuer(t, "aud")
	tok := iss.Token(t, "me", time.Minute)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var hdr map[string]string
	b, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(b, &hdr); err != nil || hdr["alg"] != "ES256" {
		t.Fatalf("header = %s (%v)", b, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, %v", len(sig), err)
	}
	block, _ := pem.Decode([]byte(iss.PublicKeyPEM))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, s) {
		t.Fatal("signature does not verify")
	}
	claims, err := jwtClaims(tok)
	if err != nil || claims["sub"] != "me" || claims["aud"] != "aud" {
		t.Fatalf("claims = %v (%v)", claims, err)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 60 {
		t.Errorf("exp-iat = %v, want 60", exp-iat)
	}
}

func TestFakeKubeReview(t *testing.T) {
	k := NewFakeKube(t)
	good := k.NewToken("ns", "sa")
	review := func(bearer, token string) (int, tokenReview) {
		t.Helper()
		body, _ := json.Marshal(tokenReview{Spec: tokenReviewSpec{Token: token, Audiences: []string{"vault"}}})
		req, _ := http.NewRequest(http.MethodPost, k.URL+tokenReviewPath, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr tokenReview
		_ = json.NewDecoder(resp.Body).Decode(&tr)
		return resp.StatusCode, tr
	}
	if code, _ := review("wrong", good); code != http.StatusUnauthorized {
		t.Errorf("wrong reviewer token: status %d, want 401", code)
	}
	code, tr := review(k.ReviewerJWT, good)
	if code != http.StatusOK || !tr.Status.Authenticated || tr.Status.User.Username != "system:serviceaccount:ns:sa" ||
		tr.Status.User.UID != saUID("ns", "sa") || !slices.Equal(tr.Status.Audiences, []string{"vault"}) {
		t.Errorf("good token: %d %+v", code, tr.Status)
	}
	if _, tr := review(k.ReviewerJWT, "unknown"); tr.Status.Authenticated {
		t.Error("unknown token authenticated")
	}
	k.RemoveToken(good)
	if _, tr := review(k.ReviewerJWT, good); tr.Status.Authenticated {
		t.Error("removed token authenticated")
	}
	if k.Reviews() != 3 {
		t.Errorf("Reviews() = %d, want 3", k.Reviews())
	}
}

func TestNewClientCert(t *testing.T) {
	ca, client := NewClientCert(t, "agent")
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM) {
		t.Fatal("CA PEM not parsable")
	}
	pair, err := tls.LoadX509KeyPair(client.CertFile, client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client cert does not verify: %v", err)
	}
	if fi, err := os.Stat(client.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Errorf("f called %d times, want 3", n)
	}
}

// Leaks finds what Vault answered with in any text: the check every
// agent and binary test runs over rotor's logs.
func TestLeaksFindsWhatVaultAnswered(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	tok, err := c.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	v := tok.Auth.ClientToken
	if got := Leaks("level=INFO msg=renewed token=" + v + " other"); len(got) != 1 || got[0] != v[:4]+"..." {
		t.Fatalf("Leaks = %q, want the new token found (and cut)", got)
	}
	if got := Leaks("level=INFO msg=renewed accessor=" + tok.Auth.Accessor); len(got) != 0 {
		t.Fatalf("an accessor is not a secret: Leaks = %q", got)
	}
	// After a restart (dev mode forgets its audit devices) too.
	s.Restart(t, nil)
	tok2, err := s.Client(t).Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := Leaks(tok2.Auth.ClientToken); len(got) != 1 {
		t.Fatalf("after Restart: Leaks = %q", got)
	}
}
