package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// Identities of the fuzzed proxy: two clients and rotor.
const (
	fuzzA     = "hvs.AAAAAAAAAAAAAAAAAAAAAAAA"
	fuzzB     = "hvs.BBBBBBBBBBBBBBBBBBBBBBBB"
	fuzzRotor = "hvs.RRRRRRRRRRRRRRRRRRRRRRRR"
)

// echoVault answers every request as the caller it sees: a renewable
// lease (or, on a create path, a renewable token) whose data names the
// caller and echoes its token, as lookup-self does. A cross-identity
// answer is then visible in the body.
func echoVault(t testing.TB) *httptest.Server {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		tok := callerToken(r)
		owner := map[string]string{fuzzA: "A", fuzzB: "B", fuzzRotor: "R"}[tok]
		if owner == "" {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"errors":["permission denied"]}`))
			return
		}
		i := n.Add(1)
		out := map[string]any{"lease_id": fmt.Sprintf("fake/%s/%d", owner, i), "renewable": true, "lease_duration": 3600,
			"data": map[string]any{"owner": owner, "id": tok}}
		if strings.Contains(r.URL.Path, "create") {
			out = map[string]any{"auth": map[string]any{"client_token": fmt.Sprintf("child-%s-%d", owner, i), "accessor": "acc",
				"renewable": true, "lease_duration": 3600, "orphan": strings.Contains(r.URL.Path, "orphan")},
				"data": map[string]any{"owner": owner}}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// callers: how each fuzzed request presents itself, and who Vault sees.
var fuzzCallers = []struct {
	h   http.Header
	who string
}{
	{http.Header{"X-Vault-Token": {fuzzA}}, "A"},
	{http.Header{"Authorization": {"Bearer " + fuzzA}}, "A"},
	{http.Header{"X-Vault-Token": {fuzzB}}, "B"},
	{http.Header{"Authorization": {"Bearer " + fuzzB}}, "B"},
	{http.Header{}, "R"},                                        // no token: rotor's is added
	{http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}}, "R"}, // not a bearer token
}

// FuzzProxyIdentities sends the same request as two different callers
// through one cached proxy and checks that no answer belongs to another
// caller and that rotor's token is never in an answer.
func FuzzProxyIdentities(f *testing.F) {
	f.Add("GET", "database/creds/app", "", uint8(0), uint8(4), false)
	f.Add("POST", "auth/token/create", `{"ttl":"1h"}`, uint8(1), uint8(4), false)
	f.Add("POST", "auth/token/create-orphan", `{}`, uint8(3), uint8(5), false)
	f.Add("GET", "auth/token/lookup-self", "", uint8(4), uint8(0), true)
	f.Add("POST", "auth/token/revoke-self", "", uint8(1), uint8(4), false)
	f.Add("PUT", "sys/wrapping/unwrap", `{"token":"x"}`, uint8(4), uint8(2), false)
	vault := echoVault(f)
	u, _ := url.Parse(vault.URL)
	f.Fuzz(func(t *testing.T, method, path, body string, first, second uint8, wrap bool) {
		switch method {
		case "GET", "POST", "PUT", "LIST", "DELETE":
		default:
			method = "GET"
		}
		path = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '/' || r == '-' || r == '_' {
				return r
			}
			return -1
		}, path)
		c := NewCache(&fakeRenewer{}, nil)
		for _, tok := range []string{fuzzA, fuzzB, fuzzRotor} {
			c.Manage(tok)
		}
		p := New(Options{Vault: u, Token: func() string { return fuzzRotor }, Accessor: func() string { return "acc-rotor" },
			Mode: TokenIfMissing, Cache: c})
		one, two := fuzzCallers[int(first)%len(fuzzCallers)], fuzzCallers[int(second)%len(fuzzCallers)]
		for _, caller := range []struct {
			h   http.Header
			who string
		}{one, two, one, two} {
			req := httptest.NewRequest(method, "/v1/"+path, strings.NewReader(body))
			for k, v := range caller.h {
				req.Header[k] = v
			}
			if wrap {
				req.Header.Set("X-Vault-Wrap-TTL", "60s")
			}
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			got := rec.Body.String()
			if strings.Contains(got, fuzzRotor) {
				t.Fatalf("%s %s as %s: rotor's token in the answer: %s", method, path, caller.who, got)
			}
			for who, tok := range map[string]string{"A": fuzzA, "B": fuzzB} {
				if who != caller.who && strings.Contains(got, tok) {
					t.Fatalf("%s %s as %s: %s's token in the answer: %s", method, path, caller.who, who, got)
				}
			}
			var ans struct {
				Data struct {
					Owner string `json:"owner"`
				} `json:"data"`
			}
			if rec.Code == 200 && json.Unmarshal(rec.Body.Bytes(), &ans) == nil && ans.Data.Owner != "" && ans.Data.Owner != caller.who {
				t.Fatalf("%s %s as %s got %s's answer (X-Cache %s): %s", method, path, caller.who, ans.Data.Owner,
					rec.Header().Get("X-Cache"), got)
			}
		}
	})
}
