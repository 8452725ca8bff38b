package fleet

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// request is one request Vault audited.
type request struct {
	at    time.Time
	agent string // from the token's (or, for a login, the new token's) metadata; "" when unknown
	class string
	path  string
	// harness: made with the root token by the benchmark itself (setup,
	// lease lookups), never counted as an agent's.
	harness bool
	// failed: Vault answered with an error.
	failed bool
}

// Request classes, by path.
const (
	classLogin  = "login"
	classToken  = "token" // renew-self, lookup-self
	classDB     = "db_fetch"
	classRenew  = "lease_renew"
	classPKI    = "pki_issue"
	classKV     = "kv_read"
	classMounts = "mount_lookup"
	classRevoke = "revoke"
	classOther  = "other"
)

// classes in the order reports print them.
var classes = []string{classLogin, classToken, classDB, classRenew, classPKI, classKV, classMounts, classRevoke, classOther}

func classify(path string) string {
	switch {
	case strings.HasPrefix(path, "auth/approle/login"):
		return classLogin
	case strings.HasPrefix(path, "auth/token/"):
		return classToken
	case path == dbPath:
		return classDB
	case path == "sys/leases/renew" || strings.HasPrefix(path, "sys/renew"):
		return classRenew
	case path == pkiPath:
		return classPKI
	case path == "secret/data/app/config":
		return classKV
	case strings.HasPrefix(path, "sys/internal/ui/mounts"):
		return classMounts
	case strings.HasPrefix(path, "sys/leases/revoke") || strings.HasPrefix(path, "sys/revoke"):
		return classRevoke
	}
	return classOther
}

// auditEntry is the part of an audit log line the benchmark reads.
type auditEntry struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Auth *struct {
		Policies []string          `json:"policies"`
		Metadata map[string]string `json:"metadata"`
	} `json:"auth"`
	Request struct {
		ID   string `json:"id"`
		Path string `json:"path"`
	} `json:"request"`
	Response *struct {
		Auth *struct {
			Metadata map[string]string `json:"metadata"`
		} `json:"auth"`
	} `json:"response"`
	Error string `json:"error"`
}

// readAudit parses a file audit device's JSON lines into the requests
// (type "request" entries), sorted by time. A login request carries no
// token; its agent comes from the token in the matching response. A
// request whose response has an error is marked failed.
func readAudit(r io.Reader) ([]request, error) {
	var reqs []request
	byID := map[string]int{} // request ID -> index in reqs
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, err
		}
		switch e.Type {
		case "request":
			q := request{at: e.Time, path: e.Request.Path, class: classify(e.Request.Path)}
			if e.Auth != nil {
				q.agent = e.Auth.Metadata["agent"]
				q.harness = slices.Contains(e.Auth.Policies, "root")
			}
			byID[e.Request.ID] = len(reqs)
			reqs = append(reqs, q)
		case "response":
			i, ok := byID[e.Request.ID]
			if !ok {
				continue
			}
			delete(byID, e.Request.ID)
			reqs[i].failed = e.Error != ""
			if reqs[i].class == classLogin && e.Response != nil && e.Response.Auth != nil {
				reqs[i].agent = e.Response.Auth.Metadata["agent"]
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(reqs, func(a, b request) int { return a.at.Compare(b.at) })
	return reqs, nil
}

func readAuditFile(path string) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAudit(f)
}

// between returns the agents' requests (not the harness's) in [from, to).
// reqs must be sorted by time.
func between(reqs []request, from, to time.Time) []request {
	i, _ := slices.BinarySearchFunc(reqs, from, func(q request, t time.Time) int { return q.at.Compare(t) })
	j, _ := slices.BinarySearchFunc(reqs, to, func(q request, t time.Time) int { return q.at.Compare(t) })
	var out []request
	for _, q := range reqs[i:j] {
		if !q.harness {
			out = append(out, q)
		}
	}
	return out
}

// perSecond buckets requests into whole seconds since start: the count of
// bucket i is the requests in [start+i s, start+i+1 s).
func perSecond(reqs []request, start time.Time, n int) []int {
	out := make([]int, n)
	for _, q := range reqs {
		if i := int(q.at.Sub(start) / time.Second); q.at.Compare(start) >= 0 && i < n {
			out[i]++
		}
	}
	return out
}
