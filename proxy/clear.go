package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// clearRequest is the body of POST /agent/v1/cache-clear, as Vault
// Agent takes it.
type clearRequest struct {
	Type      string `json:"type"`  // request_path, lease, token, token_accessor, all
	Value     string `json:"value"` // what to match (not for all)
	Namespace string `json:"namespace"`
}

// ClearHandler serves cache-clear: it evicts entries by request path
// prefix, lease ID, token, token accessor, or all of them. A token's
// leases and child tokens go with it.
func (c *Cache) ClearHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in clearRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
			vaultError(w, http.StatusBadRequest, "cache-clear: the body must be JSON: {\"type\": ..., \"value\": ...}")
			return
		}
		var match func(*Entry) bool
		switch in.Type {
		case "all":
			match = func(*Entry) bool { return true }
		case "request_path":
			p := "/v1/" + strings.TrimPrefix(in.Value, "/v1/")
			p = "/v1/" + strings.TrimLeft(strings.TrimPrefix(p, "/v1/"), "/")
			match = func(e *Entry) bool { return in.Value != "" && strings.HasPrefix(e.Path, p) && nsMatch(e, in.Namespace) }
		case "lease":
			match = func(e *Entry) bool { return in.Value != "" && e.LeaseID == in.Value }
		case "token":
			match = func(e *Entry) bool { return in.Value != "" && (e.Token == in.Value || e.RequestToken == in.Value) }
		case "token_accessor":
			match = func(e *Entry) bool { return in.Value != "" && e.Accessor == in.Value }
		default:
			vaultError(w, http.StatusBadRequest, "cache-clear: type must be request_path, lease, token, token_accessor or all")
			return
		}
		n := c.evict(match, "cache-clear "+in.Type)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"evicted": n})
	})
}

func nsMatch(e *Entry, ns string) bool {
	return ns == "" || strings.Trim(e.Namespace, "/") == strings.Trim(ns, "/")
}
