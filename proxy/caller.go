package proxy

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// callerToken returns the token a request carries, as Vault reads it
// (vault/http getTokenFromReq): X-Vault-Token, else the first
// "Authorization: Bearer" header. The cache keys, owns and evicts by this
// token, so a client sending its token either way is the same caller.
func callerToken(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	for _, v := range r.Header["Authorization"] {
		if strings.HasPrefix(v, "Bearer ") {
			return strings.TrimSpace(v[len("Bearer "):])
		}
	}
	return ""
}

// apiPath is the request path relative to /v1/.
func apiPath(r *http.Request) string { return strings.TrimPrefix(r.URL.Path, "/v1/") }

// tokenEndpoint names the token store endpoint p calls ("lookup-self",
// "revoke", "create", ...), or "". It matches under any namespace prefix
// (ns1/auth/token/...), so a refusal cannot be side-stepped by one; a
// KV path that happens to end the same way is refused too, which only
// ever refuses more.
func tokenEndpoint(p string) string {
	const marker = "auth/token/"
	i := strings.LastIndex(p, marker)
	if i < 0 || (i > 0 && p[i-1] != '/') {
		return ""
	}
	return p[i+len(marker):]
}

// aboutCaller reports token store endpoints whose answer can describe the
// calling token itself, its ID included: lookup, lookup-self, renew,
// renew-self (and their -accessor forms, which Vault blanks the ID in, but
// are cheap to include).
func aboutCaller(p string) bool {
	e := tokenEndpoint(p)
	return strings.HasPrefix(e, "lookup") || strings.HasPrefix(e, "renew")
}

// requestData decodes the parameters Vault would read from r: the query
// for GET, LIST and HEAD; the JSON or form body for POST and PUT (Vault's
// isForm rule). Unreadable data yields nil: Vault would refuse the
// request itself.
func requestData(r *http.Request, body []byte) map[string]any {
	switch r.Method {
	case http.MethodGet, "LIST", http.MethodHead:
		out := map[string]any{}
		for k, v := range r.URL.Query() {
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
		return out
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && ct == "application/x-www-form-urlencoded" &&
		len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil
		}
		out := map[string]any{}
		for k, v := range q {
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
		return out
	}
	var out map[string]any
	if json.Unmarshal(body, &out) != nil {
		return nil
	}
	return out
}

// param is a string parameter of the request's data ("" if absent or not
// a string).
func param(data map[string]any, k string) string {
	s, _ := data[k].(string)
	return s
}

// self is rotor's own token as the proxy guards it.
type self struct {
	token, accessor string
}

// refusal says why a request must not reach Vault, or "" if it may. It is
// the one place that keeps rotor's token in: a client may use it through
// the proxy (when the mode says so), never obtain it, revoke it, or have
// rotor log in. See docs/security.md, "Listener clients".
func refusal(r *http.Request, data map[string]any, auto bool, me self) string {
	p := apiPath(r)
	ep := tokenEndpoint(p)
	if auto {
		switch {
		case strings.HasPrefix(ep, "revoke-self"):
			return "rotor does not let its clients revoke its auto-auth token"
		case strings.HasPrefix(ep, "renew-self"):
			// A renewal with a small increment shortens the token's TTL:
			// rotor renews its own token on its own schedule.
			return "rotor does not let its clients renew its auto-auth token; it renews it itself"
		case aboutCaller(p) && (r.Header.Get("X-Vault-Wrap-TTL") != "" || r.Header.Get("X-Vault-Wrap-Format") != ""):
			// The wrapped answer would hold the token, unwrapped by the
			// client where rotor cannot strip it.
			return "rotor does not response-wrap answers about its auto-auth token"
		}
	}
	if me.token != "" {
		var named bool
		switch ep {
		case "revoke", "revoke-orphan", "renew":
			named = param(data, "token") == me.token
		case "revoke-accessor", "renew-accessor":
			named = me.accessor != "" && param(data, "accessor") == me.accessor
		default:
			return leaseRefusal(p, data)
		}
		if data == nil && r.ContentLength != 0 {
			return "rotor could not read this request's parameters"
		}
		if named {
			return "rotor does not let its clients revoke or renew its auto-auth token"
		}
	}
	return leaseRefusal(p, data)
}

// leaseRefusal refuses revocations of token leases.
func leaseRefusal(p string, data map[string]any) string {
	// Token leases (auth/<mount>/login/...) die with the tokens they are:
	// revoking them by lease ID or prefix would revoke rotor's token
	// under another name.
	if target, ok := leaseRevocation(p, data); ok {
		t := strings.TrimLeft(target, "/")
		if t == "" || t == "auth" || strings.HasPrefix(t, "auth/") {
			return "rotor does not let its clients revoke token leases (auth/...) through its listener: revoke a token by token or accessor"
		}
	}
	return ""
}

// leaseRevocation returns the lease ID or prefix a sys/leases revocation
// names, under any namespace prefix, and whether p is one.
func leaseRevocation(p string, data map[string]any) (string, bool) {
	for _, k := range []string{"sys/leases/revoke-prefix", "sys/revoke-prefix", "sys/leases/revoke-force", "sys/revoke-force",
		"sys/leases/revoke", "sys/revoke"} {
		i := strings.Index(p, k)
		if i < 0 || (i > 0 && p[i-1] != '/') {
			continue
		}
		rest := p[i+len(k):]
		if rest != "" && rest[0] != '/' {
			continue // e.g. sys/revoke-prefix matched by sys/revoke
		}
		rest = strings.TrimPrefix(rest, "/")
		if rest == "" {
			rest = param(data, "lease_id")
			if rest == "" {
				rest = param(data, "prefix")
			}
		}
		return rest, true
	}
	return "", false
}

// stripSelf removes rotor's own token from an answer made with it: any
// JSON string equal to the token becomes "" (lookup-self's data.id,
// renew-self's auth.client_token). Tokens are plain ASCII, so the
// replacement keeps the JSON valid without decoding it. If the token is
// still there (inside a longer string), the answer is withheld: ok is
// false.
func stripSelf(body []byte, token string) (out []byte, ok bool) {
	if token == "" || !bytes.Contains(body, []byte(token)) {
		return body, true
	}
	out = bytes.ReplaceAll(body, []byte(`"`+token+`"`), []byte(`""`))
	return out, !bytes.Contains(out, []byte(token))
}
