package fakevault

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error messages as Vault 1.21 words them.
const (
	msgInvalidToken  = "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"
	msgLeaseNotFound = "lease not found"
	msgNotRenewable  = "lease is not renewable"
	msgInvalidLogin  = "invalid role or secret ID"
)

// answer is what a handler decided: a status and a JSON body (nil: none).
type answer struct {
	status int
	body   any
}

func errorAnswer(status int, msgs ...string) answer {
	if msgs == nil {
		msgs = []string{}
	}
	return answer{status, map[string]any{"errors": msgs}}
}

// serve records r, applies faults and answers it.
func (v *Vault) serve(w http.ResponseWriter, r *http.Request) error {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}
	if method == http.MethodPost {
		method = http.MethodPut // Vault treats them alike
	}
	body := map[string]any{}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
	}
	leaseID, _ := body["lease_id"].(string)
	tok := r.Header.Get("X-Vault-Token")

	v.mu.Lock()
	idx := len(v.log)
	v.log = append(v.log, Request{Time: time.Now(), Method: method, Path: path, Token: tok, Body: body})
	f := v.fault(method, path, leaseID)
	v.mu.Unlock()

	var a answer
	if f != nil && f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return r.Context().Err()
		}
	}
	v.mu.Lock()
	switch {
	case f != nil && f.Status != 0:
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		a = errorAnswer(f.Status, msg)
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
	default:
		a = v.handle(method, path, tok, body)
	}
	v.log[idx].Status = a.status
	v.mu.Unlock()

	w.Header().Set("Cache-Control", "no-store")
	if a.body == nil {
		w.WriteHeader(a.status)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	return json.NewEncoder(w).Encode(a.body)
}

// handle routes one request. v.mu is held.
func (v *Vault) handle(method, path, tokValue string, body map[string]any) answer {
	if method == http.MethodPut && strings.HasPrefix(path, "auth/approle/login") {
		return v.appRoleLogin(body)
	}
	tok := v.live(tokValue)
	if tok == nil {
		return errorAnswer(http.StatusForbidden, msgInvalidToken)
	}
	switch {
	case method == http.MethodGet && path == "auth/token/lookup-self":
		return v.lookupSelf(tok)
	case method == http.MethodPut && path == "auth/token/renew-self":
		return v.renewSelf(tok, body)
	case method == http.MethodPut && path == "auth/token/revoke-self":
		v.revokeToken(tok.value)
		return answer{status: http.StatusNoContent}
	case method == http.MethodPut && path == "auth/token/create":
		return v.createToken(tok, body)
	case method == http.MethodPut && path == "sys/leases/renew":
		return v.renewLease(tok, body)
	case method == http.MethodPut && path == "sys/leases/revoke":
		id, _ := body["lease_id"].(string)
		delete(v.leases, id) // Vault answers 204 for an unknown lease too
		return answer{status: http.StatusNoContent}
	case method == http.MethodGet && strings.HasPrefix(path, "sys/internal/ui/mounts/"):
		return v.mountInfo(strings.TrimPrefix(path, "sys/internal/ui/mounts/"))
	case method == http.MethodGet && strings.HasPrefix(path, "secret/data/"):
		return v.kvRead(strings.TrimPrefix(path, "secret/data/"))
	case method == http.MethodGet && strings.HasPrefix(path, "database/creds/"):
		return v.dbCreds(tok, strings.TrimPrefix(path, "database/creds/"))
	}
	return errorAnswer(http.StatusNotFound, "1 error occurred:\n\t* unsupported path\n\n")
}

// envelope is Vault's response body around data or auth.
func (v *Vault) envelope(mountType string) map[string]any {
	v.seq++
	return map[string]any{"request_id": fmt.Sprintf("00000000-0000-0000-0000-%012d", v.seq), "lease_id": "",
		"renewable": false, "lease_duration": 0, "data": nil, "wrap_info": nil, "warnings": nil, "auth": nil,
		"mount_type": mountType}
}

// authBlock is a login's or token creation's "auth" object.
func authBlock(tok *token) map[string]any {
	var meta any
	if tok.meta != nil {
		meta = tok.meta
	}
	return map[string]any{"client_token": tok.value, "accessor": tok.accessor, "policies": tok.policies,
		"token_policies": tok.policies, "metadata": meta, "lease_duration": int(time.Until(tok.expires).Round(time.Second).Seconds()),
		"renewable": tok.renewable, "entity_id": "", "token_type": "service", "orphan": tok.orphan,
		"mfa_requirement": nil, "num_uses": 0}
}

func (v *Vault) appRoleLogin(body map[string]any) answer {
	roleID, _ := body["role_id"].(string)
	secretID, _ := body["secret_id"].(string)
	role, ok := v.appRoles[roleID]
	if !ok || role.secretID != secretID {
		return errorAnswer(http.StatusBadRequest, msgInvalidLogin)
	}
	tok := v.newToken(TokenOptions{TTL: role.ttl, Renewable: true, Policies: role.policies},
		map[string]string{"role_name": role.name}, true, "auth/approle/login")
	env := v.envelope("") // Vault names no mount for a login
	env["auth"] = authBlock(tok)
	return answer{http.StatusOK, env}
}

func (v *Vault) lookupSelf(tok *token) answer {
	var expire any
	ttl := 0
	if !tok.expires.IsZero() {
		expire = tok.expires.UTC().Format(time.RFC3339Nano)
		ttl = int(time.Until(tok.expires).Round(time.Second).Seconds())
	}
	var meta any
	if tok.meta != nil {
		meta = tok.meta
	}
	data := map[string]any{"accessor": tok.accessor, "creation_time": tok.created.Unix(),
		"creation_ttl": int(tok.creationTTL.Seconds()), "display_name": "token", "entity_id": "",
		"expire_time": expire, "explicit_max_ttl": int(tok.explicitMax.Seconds()), "id": tok.value,
		"meta": meta, "num_uses": 0, "orphan": tok.orphan, "path": tok.path, "policies": tok.policies,
		"renewable": tok.renewable, "ttl": ttl, "type": "service"}
	if tok.value != RootToken {
		data["issue_time"] = tok.created.UTC().Format(time.RFC3339Nano)
	}
	if !tok.lastRenewal.IsZero() {
		data["last_renewal"] = tok.lastRenewal.UTC().Format(time.RFC3339Nano)
		data["last_renewal_time"] = tok.lastRenewal.Unix()
	}
	env := v.envelope("token")
	env["data"] = data
	return answer{http.StatusOK, env}
}

// increment reads Vault's "increment" (seconds, or a duration string).
func increment(body map[string]any) time.Duration {
	switch x := body["increment"].(type) {
	case float64:
		return time.Duration(x) * time.Second
	case string:
		if n, err := strconv.Atoi(x); err == nil {
			return time.Duration(n) * time.Second
		}
		d, _ := time.ParseDuration(x)
		return d
	}
	return 0
}

func (v *Vault) renewSelf(tok *token, body map[string]any) answer {
	if !tok.renewable || tok.expires.IsZero() {
		return errorAnswer(http.StatusBadRequest, msgNotRenewable)
	}
	inc := increment(body)
	if inc <= 0 {
		inc = tok.creationTTL
	}
	now := time.Now()
	exp := now.Add(inc)
	if limit := tok.maxExpiry(); exp.After(limit) {
		exp = limit
	}
	tok.expires, tok.lastRenewal = exp, now
	env := v.envelope("token")
	env["auth"] = authBlock(tok)
	return answer{http.StatusOK, env}
}

func (v *Vault) createToken(parent *token, body map[string]any) answer {
	o := TokenOptions{Renewable: true}
	if s, ok := body["ttl"].(string); ok {
		o.TTL, _ = time.ParseDuration(s)
	}
	if s, ok := body["explicit_max_ttl"].(string); ok {
		o.ExplicitMax, _ = time.ParseDuration(s)
	}
	if b, ok := body["renewable"].(bool); ok {
		o.Renewable = b
	}
	if ps, ok := body["policies"].([]any); ok {
		for _, p := range ps {
			if s, ok := p.(string); ok && s != "default" {
				o.Policies = append(o.Policies, s)
			}
		}
	}
	tok := v.newToken(o, nil, false, "auth/token/create")
	if !parent.expires.IsZero() && tok.expires.After(parent.expires) {
		tok.expires = parent.expires // a child never outlives its parent
	}
	env := v.envelope("token")
	env["auth"] = authBlock(tok)
	return answer{http.StatusOK, env}
}

func (v *Vault) renewLease(tok *token, body map[string]any) answer {
	id, _ := body["lease_id"].(string)
	l, ok := v.leases[id]
	if !ok || !time.Now().Before(l.expires) {
		delete(v.leases, id)
		return errorAnswer(http.StatusBadRequest, msgLeaseNotFound)
	}
	if !l.renewable {
		return errorAnswer(http.StatusBadRequest, msgNotRenewable)
	}
	inc := increment(body)
	if inc <= 0 {
		inc = l.ttl
	}
	now := time.Now()
	exp := now.Add(inc)
	if l.maxTTL > 0 && exp.After(l.issued.Add(l.maxTTL)) {
		exp = l.issued.Add(l.maxTTL)
	}
	if owner := v.tokens[l.token]; owner != nil && !owner.expires.IsZero() && exp.After(owner.expires) {
		exp = owner.expires // a lease never outlives its token
	}
	l.expires = exp
	env := v.envelope("system")
	env["lease_id"], env["renewable"] = l.id, true
	env["lease_duration"] = int(exp.Sub(now).Round(time.Second).Seconds())
	return answer{http.StatusOK, env}
}

func (v *Vault) mountInfo(path string) answer {
	first, _, _ := strings.Cut(path, "/")
	env := v.envelope("")
	switch first {
	case "secret":
		env["data"] = map[string]any{"accessor": "kv_fake", "config": map[string]any{}, "description": "key/value secret storage",
			"external_entropy_access": false, "local": false, "options": map[string]any{"version": "2"}, "path": "secret/",
			"seal_wrap": false, "type": "kv", "uuid": "00000000-0000-0000-0000-00000000kv02"}
	case "database":
		env["data"] = map[string]any{"accessor": "database_fake", "config": map[string]any{}, "description": "",
			"external_entropy_access": false, "local": false, "options": nil, "path": "database/",
			"seal_wrap": false, "type": "database", "uuid": "00000000-0000-0000-0000-0000database"}
	default:
		return errorAnswer(http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
	}
	return answer{http.StatusOK, env}
}

func (v *Vault) kvRead(path string) answer {
	e, ok := v.kv[path]
	if !ok {
		return errorAnswer(http.StatusNotFound)
	}
	env := v.envelope("kv")
	env["data"] = map[string]any{"data": e.data, "metadata": map[string]any{
		"created_time": e.created.UTC().Format(time.RFC3339Nano), "custom_metadata": nil,
		"deletion_time": "", "destroyed": false, "version": e.version}}
	return answer{http.StatusOK, env}
}

func (v *Vault) dbCreds(tok *token, role string) answer {
	r, ok := v.dbRoles[role]
	if !ok {
		return errorAnswer(http.StatusBadRequest, fmt.Sprintf("unknown role: %s", role))
	}
	v.seq++
	now := time.Now()
	ttl := r.TTL
	if ttl <= 0 {
		ttl = MaxTTL
	}
	exp := now.Add(ttl)
	if !tok.expires.IsZero() && exp.After(tok.expires) {
		exp = tok.expires
	}
	l := &lease{id: fmt.Sprintf("database/creds/%s/lease%08d", role, v.seq), token: tok.value, ttl: ttl,
		maxTTL: r.MaxTTL, issued: now, expires: exp, renewable: r.Renewable}
	v.leases[l.id] = l
	env := v.envelope("database")
	env["lease_id"], env["renewable"] = l.id, l.renewable
	env["lease_duration"] = int(exp.Sub(now).Round(time.Second).Seconds())
	env["data"] = map[string]any{"username": fmt.Sprintf("v-token-%s-%08d", role, v.seq),
		"password": fmt.Sprintf("pw-%08d", v.seq)}
	return answer{http.StatusOK, env}
}
