package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// maxBody bounds the request body the proxy reads to match BodyContains.
// Vault requests are small; a larger body is refused with a reset.
const maxBody = 8 << 20

// HTTP is a reverse proxy in front of a Vault server that injects faults.
// Without rules it forwards every request unchanged. Its methods are safe
// for concurrent use.
type HTTP struct {
	// URL is the proxy's base URL, "http://127.0.0.1:PORT": give it to the
	// client instead of Vault's address.
	URL string

	srv *http.Server
	tr  *http.Transport
	rp  *httputil.ReverseProxy

	mu      sync.Mutex
	target  *url.URL
	rules   []*installed
	nextID  RuleID
	records []*Record
}

// recordKey carries a request's *Record to the reverse proxy's error
// handler.
type recordKey struct{}

// NewHTTP starts a proxy on a free 127.0.0.1 port that forwards to target
// (a base URL such as "http://127.0.0.1:8200"). It is closed when the test
// ends.
func NewHTTP(t testing.TB, target string) *HTTP {
	t.Helper()
	u, err := parseTarget(target)
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	p := &HTTP{URL: "http://" + ln.Addr().String(), target: u}
	p.tr = &http.Transport{
		Proxy:               nil, // never an HTTP_PROXY from the environment
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			p.mu.Lock()
			t := p.target
			p.mu.Unlock()
			pr.SetURL(t)
		},
		Transport:    p.tr,
		ErrorHandler: p.upstreamError,
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	t.Cleanup(p.Close)
	return p
}

func parseTarget(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("target %q is not a base URL such as http://127.0.0.1:8200", target)
	}
	return u, nil
}

// SetTarget sends later requests to target instead (a load balancer
// repointed at a new active node). Requests in flight are not moved.
func (p *HTTP) SetTarget(target string) error {
	u, err := parseTarget(target)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.target = u
	p.mu.Unlock()
	return nil
}

// Add installs r after the rules already in place and returns its ID. A
// request gets the fault of the first rule that matches it.
func (p *HTTP) Add(r Rule) RuleID {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	p.rules = append(p.rules, &installed{id: p.nextID, rule: r, lifted: make(chan struct{})})
	return p.nextID
}

// Remove lifts the rule with id, releasing the requests it black-holes.
// Removing a rule twice does nothing.
func (p *HTTP) Remove(id RuleID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, in := range p.rules {
		if in.id == id {
			close(in.lifted)
			p.rules = append(p.rules[:i], p.rules[i+1:]...)
			return
		}
	}
}

// Clear lifts every rule: the proxy forwards everything again.
func (p *HTTP) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.rules {
		close(in.lifted)
	}
	p.rules = nil
}

// Records returns a copy of every request seen so far, in arrival order.
func (p *HTTP) Records() []Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Record, len(p.records))
	for i, r := range p.records {
		out[i] = *r
	}
	return out
}

// Between returns the requests that arrived in [from, to); a zero to
// means no end.
func (p *HTTP) Between(from, to time.Time) []Record {
	var out []Record
	for _, r := range p.Records() {
		if !r.At.Before(from) && (to.IsZero() || r.At.Before(to)) {
			out = append(out, r)
		}
	}
	return out
}

// Counts returns how many requests of each class arrived in [from, to);
// a zero to means no end.
func (p *HTTP) Counts(from, to time.Time) map[string]int {
	out := map[string]int{}
	for _, r := range p.Between(from, to) {
		out[r.Class]++
	}
	return out
}

// Close stops the proxy: it closes the listener and every connection and
// releases black-holed requests. Safe to call more than once.
func (p *HTTP) Close() {
	p.Clear()
	p.srv.Close()
	p.tr.CloseIdleConnections()
}

// ServeHTTP applies the first matching rule to r, then forwards it unless
// the fault answered it.
func (p *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := apiPath(r)
	rec := &Record{At: start, Method: r.Method, Path: path, Class: Class(path), Fault: Pass().String()}
	p.mu.Lock()
	p.records = append(p.records, rec)
	p.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		p.mu.Lock()
		rec.Status, rec.Duration = sw.status, time.Since(start)
		p.mu.Unlock()
	}()

	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		resetConn(sw)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := p.match(r.Method, path, body)
	fault := Pass()
	if in != nil {
		fault = in.rule.Fault
	}
	p.setFault(rec, fault.String())
	switch fault.kind {
	case kindDelay:
		select {
		case <-time.After(fault.delay):
		case <-r.Context().Done():
			return
		}
	case kindStatus:
		writeError(sw, fault)
		return
	case kindReset:
		resetConn(sw)
		return
	case kindBlackHole:
		select {
		case <-in.lifted:
		case <-r.Context().Done():
			return
		}
	}
	p.rp.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), recordKey{}, rec)))
}

func (p *HTTP) match(method, path string, body []byte) *installed {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, in := range p.rules {
		if in.rule.matches(method, path, body) {
			return in
		}
	}
	return nil
}

func (p *HTTP) setFault(rec *Record, fault string) {
	p.mu.Lock()
	rec.Fault = fault
	p.mu.Unlock()
}

// upstreamError handles a backend that cannot be reached: the client's
// connection is reset, so it sees a transport error as it would talking
// to a dead server, not an answer from a proxy.
func (p *HTTP) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client gave up
	}
	if rec, ok := r.Context().Value(recordKey{}).(*Record); ok {
		p.setFault(rec, "upstream down")
	}
	resetConn(w)
}

// writeError answers like Vault does: a JSON list of errors.
func writeError(w http.ResponseWriter, f Fault) {
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter.Round(time.Second)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(map[string][]string{
		"errors": {fmt.Sprintf("faultproxy: injected %d %s", f.status, http.StatusText(f.status))},
	})
}

// resetConn closes the client's connection with a TCP RST (SO_LINGER 0).
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Hijack, Flush).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Target returns the base URL requests are forwarded to.
func (p *HTTP) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target.String()
}
