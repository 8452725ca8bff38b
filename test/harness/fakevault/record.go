package fakevault

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Request is one request the fake received.
type Request struct {
	Time   time.Time
	Method string // LIST for a GET with list=true
	Path   string // without /v1/, e.g. sys/leases/renew
	Token  string // X-Vault-Token
	Body   map[string]any
	Status int // the status answered
}

// Requests returns the requests so far whose "METHOD path" starts with
// prefix ("" for all), e.g. "PUT sys/leases/renew" or "GET database/".
func (v *Vault) Requests(prefix string) []Request {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []Request
	for _, r := range v.log {
		if strings.HasPrefix(r.Method+" "+r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many requests Requests(prefix) would return.
func (v *Vault) Count(prefix string) int { return len(v.Requests(prefix)) }

// Fault makes matching requests fail or wait.
type Fault struct {
	// Method ("" for any) and Path, a prefix of the path without /v1/
	// ("" for any), select the requests. For sys/leases/renew and
	// sys/leases/revoke, Path may instead be a prefix of the lease ID.
	Method, Path string
	// Status, when not 0, is answered with Vault's error body holding
	// Message (default: the status text).
	Status     int
	Message    string
	RetryAfter string // the Retry-After header, e.g. "30"
	// Delay holds the answer back (a slow Vault); a client that gives up
	// first gets nothing.
	Delay time.Duration
	// Times is how many requests the fault hits (0: until cleared).
	Times int
}

// Fail adds a fault; the newest matching fault wins.
func (v *Vault) Fail(f Fault) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.faults = append(v.faults, &f)
}

// ClearFaults removes every fault.
func (v *Vault) ClearFaults() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.faults = nil
}

// fault returns the fault for a request, using up one of its Times.
// v.mu is held.
func (v *Vault) fault(method, path, leaseID string) *Fault {
	for i := len(v.faults) - 1; i >= 0; i-- {
		f := v.faults[i]
		if f.Method != "" && f.Method != method {
			continue
		}
		if !strings.HasPrefix(path, f.Path) && (leaseID == "" || !strings.HasPrefix(leaseID, f.Path)) {
			continue
		}
		hit := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				v.faults = append(v.faults[:i], v.faults[i+1:]...)
			}
		}
		return &hit
	}
	return nil
}

// RoundTrip answers r in memory: v is an http.RoundTripper, so a client
// using it needs no network (and runs in a synctest bubble).
func (v *Vault) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if err := v.serve(rec, r); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// ServeHTTP answers r: v is an http.Handler, for Serve or a test's own
// server.
func (v *Vault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = v.serve(w, r) // only a client that gave up during a Delay errs
}
