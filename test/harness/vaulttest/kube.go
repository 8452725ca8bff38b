package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// tokenReviewPath is where Vault's kubernetes auth method posts TokenReviews.
const tokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews"

// FakeKube is a stand-in for the Kubernetes API server, enough for Vault's
// kubernetes auth method: it answers TokenReview requests, authenticating
// only the tokens registered with AddToken or NewToken. It listens on
// 127.0.0.1 over plain HTTP, which the auth method accepts.
type FakeKube struct {
	// URL is the API server's base URL, used as kubernetes_host.
	URL string
	// ReviewerJWT is the bearer token Vault must present (token_reviewer_jwt);
	// reviews without it get 401 Unauthorized.
	ReviewerJWT string

	key *ecdsa.PrivateKey // signs service account tokens
	srv *httptest.Server

	mu      sync.Mutex // guards tokens and reviews
	tokens  map[string]kubeIdentity
	reviews int
}

type kubeIdentity struct{ namespace, name, uid string }

// NewFakeKube starts a fake API server that is closed when the test ends.
func NewFakeKube(t testing.TB) *FakeKube {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("vaulttest: kube key: %v", err)
	}
	k := &FakeKube{key: key, tokens: map[string]kubeIdentity{}}
	k.ReviewerJWT = k.mint("kube-system", "vault-token-reviewer")
	k.srv = httptest.NewServer(http.HandlerFunc(k.serveHTTP))
	t.Cleanup(k.srv.Close)
	k.URL = k.srv.URL
	return k
}

// SetupKubernetes starts a FakeKube, enables the kubernetes auth method at
// mount pointing at it, and creates role bound to service account boundSA
// in namespace boundNS (both may be "*" or globs) with token_ttl ttl and
// token_policies ["default", role]. Log in with a token from NewToken.
func SetupKubernetes(t testing.TB, c *api.Client, mount, role, boundSA, boundNS, ttl string) *FakeKube {
	t.Helper()
	k := NewFakeKube(t)
	k.Configure(t, c, mount, role, boundSA, boundNS, ttl)
	return k
}

// Configure points the kubernetes auth method at mount (enabling it if
// needed) at this fake and writes role as SetupKubernetes describes. Use it
// to set a restarted server up again with the same fake and tokens.
func (k *FakeKube) Configure(t testing.TB, c *api.Client, mount, role, boundSA, boundNS, ttl string) {
	t.Helper()
	EnableAuth(t, c, mount, "kubernetes")
	write(t, c, authPath(mount, "config"), map[string]any{
		"kubernetes_host":    k.URL,
		"token_reviewer_jwt": k.ReviewerJWT,
		// Do not look for the pod's own CA and token under
		// /var/run/secrets/kubernetes.io; Vault is not in a pod.
		"disable_local_ca_jwt": true,
		// Check "iss" locally as well (off by default since plugin v0.13).
		"disable_iss_validation": false,
		"issuer":                 "kubernetes/serviceaccount",
	})
	write(t, c, authPath(mount, "role", role), map[string]any{
		"bound_service_account_names":      boundSA,
		"bound_service_account_namespaces": boundNS,
		"token_ttl":                        ttl,
		"token_policies":                   rolePolicies(role),
	})
}

// NewToken mints a service account token for namespace/serviceAccount and
// registers it, so reviews of it succeed. The token is a signed JWT with the
// claims of a legacy (secret-based) service account token, which Vault
// parses locally before asking for a review.
func (k *FakeKube) NewToken(namespace, serviceAccount string) string {
	tok := k.mint(namespace, serviceAccount)
	k.AddToken(tok, namespace, serviceAccount)
	return tok
}

// AddToken makes reviews of token succeed as namespace/serviceAccountName.
// Vault compares the reviewed identity with the token's own claims, so the
// token must be a JWT naming the same account; its service account UID
// claim, when present, is echoed back (otherwise the one NewToken would use).
func (k *FakeKube) AddToken(token, namespace, serviceAccountName string) {
	uid := saUID(namespace, serviceAccountName)
	if claims, err := jwtClaims(token); err == nil {
		if u, ok := claims["kubernetes.io/serviceaccount/service-account.uid"].(string); ok {
			uid = u
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tokens[token] = kubeIdentity{namespace: namespace, name: serviceAccountName, uid: uid}
}

// RemoveToken makes later reviews of token fail, as when its service
// account is deleted.
func (k *FakeKube) RemoveToken(token string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.tokens, token)
}

// Reviews returns how many TokenReview requests the fake has answered.
func (k *FakeKube) Reviews() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reviews
}

// mint signs a legacy service account token. Vault only checks the
// signature when pem_keys is configured, which Configure does not do, but
// it refuses unsigned ("alg": "none") tokens outright.
func (k *FakeKube) mint(namespace, sa string) string {
	tok, err := signES256(k.key, map[string]any{
		"iss":                                    "kubernetes/serviceaccount",
		"sub":                                    "system:serviceaccount:" + namespace + ":" + sa,
		"iat":                                    time.Now().Unix(),
		"kubernetes.io/serviceaccount/namespace": namespace,
		"kubernetes.io/serviceaccount/secret.name":          sa + "-token",
		"kubernetes.io/serviceaccount/service-account.name": sa,
		"kubernetes.io/serviceaccount/service-account.uid":  saUID(namespace, sa),
	})
	if err != nil {
		// Only a broken crypto/rand gets here; no test can go on.
		panic("vaulttest: sign service account token: " + err.Error())
	}
	return tok
}

// saUID is a stable, UUID-shaped UID for a service account.
func saUID(namespace, sa string) string {
	h := sha256.Sum256([]byte(namespace + "/" + sa))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// tokenReview is the subset of authentication.k8s.io/v1 TokenReview that
// Vault sends and reads.
type tokenReview struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Spec       tokenReviewSpec   `json:"spec"`
	Status     tokenReviewStatus `json:"status"`
}

type tokenReviewSpec struct {
	Token     string   `json:"token"`
	Audiences []string `json:"audiences,omitempty"`
}

type tokenReviewStatus struct {
	Authenticated bool     `json:"authenticated"`
	User          kubeUser `json:"user"`
	Audiences     []string `json:"audiences,omitempty"`
	Error         string   `json:"error,omitempty"`
}

type kubeUser struct {
	Username string   `json:"username,omitempty"`
	UID      string   `json:"uid,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

func (k *FakeKube) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != tokenReviewPath {
		kubeStatus(w, http.StatusNotFound, "NotFound", "the fake API server only serves "+tokenReviewPath)
		return
	}
	if r.Method != http.MethodPost {
		kubeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "POST only")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+k.ReviewerJWT {
		kubeStatus(w, http.StatusUnauthorized, "Unauthorized", "Unauthorized")
		return
	}
	var req tokenReview
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		kubeStatus(w, http.StatusBadRequest, "BadRequest", "decode TokenReview: "+err.Error())
		return
	}
	k.mu.Lock()
	id, ok := k.tokens[req.Spec.Token]
	k.reviews++
	k.mu.Unlock()

	resp := tokenReview{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview", Spec: req.Spec}
	resp.Spec.Token = "" // the API server does not echo the token
	if ok {
		resp.Status = tokenReviewStatus{
			Authenticated: true,
			User: kubeUser{
				Username: "system:serviceaccount:" + id.namespace + ":" + id.name,
				UID:      id.uid,
				Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + id.namespace, "system:authenticated"},
			},
			// Vault requires the requested audiences back; a real API server
			// returns the intersection with the token's audiences.
			Audiences: req.Spec.Audiences,
		}
	} else {
		resp.Status = tokenReviewStatus{Error: "token not registered with vaulttest.FakeKube"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// kubeStatus writes a metav1.Status failure, which Vault turns into an error.
func kubeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "status": "Failure",
		"message": msg, "reason": reason, "code": code,
	})
}
