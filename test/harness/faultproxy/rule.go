// Package faultproxy puts faults between rotor and what it talks to, for
// the chaos tests.
//
// HTTP is a reverse proxy for Vault's API: rules, switched at runtime and
// matched by method, path prefix and body substring, delay a request,
// answer it with an error status, reset its connection or hold it
// unanswered. Every request is recorded (time, path class, what was done,
// status), so a test can say how many requests a client sent while Vault
// was failing and after it came back.
//
// TCP is a byte-level proxy for anything else (Vault to PostgreSQL): it
// forwards, pauses every connection without closing it, resumes, and
// resets every connection.
//
// Both listen on 127.0.0.1 only and are closed when the test ends.
// Recorded requests keep no header or body: nothing secret is kept.
package faultproxy

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// kind is what a rule does to a request.
type kind int

const (
	kindPass kind = iota
	kindDelay
	kindStatus
	kindReset
	kindBlackHole
)

// Fault is what a Rule does to the requests it matches. Build one with
// Pass, Delay, Status, StatusRetryAfter, Reset or BlackHole.
type Fault struct {
	kind       kind
	delay      time.Duration
	status     int
	retryAfter time.Duration
}

// Pass forwards the request unchanged (a rule that exempts some requests
// from a later, broader rule).
func Pass() Fault { return Fault{kind: kindPass} }

// Delay holds the request for d, then forwards it: a slow Vault. A client
// that gives up meanwhile is not forwarded.
func Delay(d time.Duration) Fault { return Fault{kind: kindDelay, delay: d} }

// Status answers the request with code and a Vault-style JSON error body
// ({"errors": ["..."]}), without forwarding it.
func Status(code int) Fault { return Fault{kind: kindStatus, status: code} }

// StatusRetryAfter is Status with a Retry-After header of after (whole
// seconds, at least one), as a rate-limiting Vault sends with 429.
func StatusRetryAfter(code int, after time.Duration) Fault {
	return Fault{kind: kindStatus, status: code, retryAfter: max(after, time.Second)}
}

// Reset closes the client's connection with a TCP reset, without an
// answer: a crashed server or a middlebox dropping state.
func Reset() Fault { return Fault{kind: kindReset} }

// BlackHole accepts the request and never answers while the rule is in
// place: a partition. When the rule is removed, held requests are
// forwarded (late, as a healed network delivers them); a client that gives
// up first is dropped.
func BlackHole() Fault { return Fault{kind: kindBlackHole} }

// String names the fault as Records show it: "pass", "delay 5s",
// "status 503", "reset", "blackhole".
func (f Fault) String() string {
	switch f.kind {
	case kindDelay:
		return "delay " + f.delay.String()
	case kindStatus:
		return fmt.Sprintf("status %d", f.status)
	case kindReset:
		return "reset"
	case kindBlackHole:
		return "blackhole"
	}
	return "pass"
}

// Rule matches requests and says what to do with them. Empty fields match
// everything.
type Rule struct {
	// Method is an HTTP method, e.g. "PUT"; empty for any.
	Method string
	// Path is a prefix of the Vault API path, without the leading "/v1/",
	// e.g. "sys/leases/renew" or "database/creds/". Empty for any.
	Path string
	// BodyContains, if set, must occur in the request body (e.g. a lease
	// ID, to fail the renewal of one lease only).
	BodyContains string
	// Fault is what to do with a matching request.
	Fault Fault
}

// matches reports whether the request (its API path already trimmed)
// falls under r.
func (r Rule) matches(method, path string, body []byte) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, method) {
		return false
	}
	if !strings.HasPrefix(path, strings.TrimPrefix(r.Path, "/")) {
		return false
	}
	return r.BodyContains == "" || strings.Contains(string(body), r.BodyContains)
}

// RuleID names an installed rule, for Remove.
type RuleID int

// installed is a rule in place; lifted is closed when it is removed, which
// releases the requests it black-holes.
type installed struct {
	id     RuleID
	rule   Rule
	lifted chan struct{}
}

// Record is one request seen by the HTTP proxy.
type Record struct {
	// At is when the request arrived.
	At time.Time
	// Method and Path are the request's; Path is the API path without
	// "/v1/" and without the query.
	Method, Path string
	// Class groups paths for counting; see Class.
	Class string
	// Fault is what the proxy did: "pass", "delay 5s", "status 503",
	// "reset", "blackhole"; "upstream down" when the backend could not be
	// reached (the client's connection is then reset).
	Fault string
	// Status is the status code the client got; 0 when it got none (reset,
	// black hole, gave up) or the request is still in flight.
	Status int
	// Duration is how long the request took through the proxy; 0 while
	// it is in flight.
	Duration time.Duration
}

// Class maps a Vault API path (without "/v1/") to a coarse class for
// counting: "auth/login" for any auth method's login, three segments for
// sys/leases/* and auth/token/* ("sys/leases/renew",
// "auth/token/renew-self"), and the first two segments otherwise
// ("database/creds", "pki_int/issue", "secret/data", "sys/health").
func Class(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "auth" && parts[len(parts)-1] == "login":
		return "auth/login"
	case len(parts) >= 3 && (parts[0] == "sys" && parts[1] == "leases" || parts[0] == "auth" && parts[1] == "token"):
		return strings.Join(parts[:3], "/")
	case len(parts) >= 2:
		return strings.Join(parts[:2], "/")
	}
	return parts[0]
}

// apiPath trims the "/v1/" prefix of a Vault API request path.
func apiPath(r *http.Request) string {
	return strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1"), "/")
}
