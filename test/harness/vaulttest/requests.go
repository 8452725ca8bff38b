package vaulttest

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// Request is one request a dev server's audit log recorded: what a test
// checks to prove a client did not (or did) call a path.
type Request struct {
	Operation string // read, update, list, delete, ...
	Path      string
}

// Requests returns every request s's raw audit log recorded so far, in
// order (logins and failed requests included).
func (s *Server) Requests(t testing.TB) []Request {
	t.Helper()
	f, err := os.Open(s.auditPath())
	if err != nil {
		t.Fatalf("vaulttest: audit log: %v", err)
	}
	defer f.Close()
	var out []Request
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var entry struct {
			Type    string `json:"type"`
			Request struct {
				Operation string `json:"operation"`
				Path      string `json:"path"`
			} `json:"request"`
		}
		if json.Unmarshal(sc.Bytes(), &entry) != nil || entry.Type != "request" {
			continue
		}
		out = append(out, Request{Operation: entry.Request.Operation, Path: entry.Request.Path})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("vaulttest: audit log: %v", err)
	}
	return out
}
