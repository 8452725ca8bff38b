package ops

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/time/rate"
)

// ListenerOptions describe one listener of the local API. They are
// comparable (no slices or maps), so a reload can tell whether a listener
// changed with ==.
type ListenerOptions struct {
	Type    string // "tcp" or "unix"
	Address string
	// Mode is the unix socket's mode (rotor's mode, Vault's socket_mode);
	// 0 means DefaultSocketMode.
	Mode os.FileMode
	// SocketUser and SocketGroup own the unix socket (Vault's socket_user
	// and socket_group): a name or a numeric ID; empty leaves rotor's.
	SocketUser  string
	SocketGroup string
	TLSCertFile string
	TLSKeyFile  string
	// TLSMinVersion and TLSMaxVersion are tls10, tls11, tls12 or tls13
	// (Vault's tls_min_version, tls_max_version); empty means tls12 and
	// tls13.
	TLSMinVersion, TLSMaxVersion string
	// TLSCipherSuites is Vault's tls_cipher_suites: comma-separated Go
	// (IANA) names; empty means Go's defaults.
	TLSCipherSuites string
	// TLSRequireClientCert (Vault's tls_require_and_verify_client_cert)
	// refuses a client without a certificate that chains to
	// TLSClientCAFile (the system roots when empty), as Vault's listener
	// does. TLSDisableClientCerts does not ask for one at all.
	TLSRequireClientCert  bool
	TLSClientCAFile       string
	TLSDisableClientCerts bool
	// TLSDisable allows a non-loopback TCP listener without TLS (Vault's
	// tls_disable); without it such a listener is refused.
	TLSDisable bool
	// EnableRotate allows POST /agent/v1/rotate.
	EnableRotate bool
	// EnableQuit allows POST /agent/v1/quit (agent_api { enable_quit }).
	EnableQuit bool
	// RequireRequestHeader (Vault's require_request_header) requires
	// "X-Vault-Request: true" on every request, not only on mutations.
	RequireRequestHeader bool
	// Role is RoleDefault (or empty) or RoleMetricsOnly (Vault's role).
	Role string
	// AllowedHosts is a comma-separated list of Host names accepted
	// besides localhost, *.localhost, IP literals and the address's own
	// host name (kept a string so the options stay comparable).
	AllowedHosts string
}

// Listener roles (Vault Agent's listener "role").
const (
	RoleDefault = "default"
	// RoleMetricsOnly serves GET /metrics and nothing else, as Vault Agent
	// serves only its metrics path on such a listener.
	RoleMetricsOnly = "metrics_only"
)

// Rotation rate limit, per listener: a bucket of RotationBurst requests,
// refilled at RotationsPerMinute. Each rotation re-issues credentials and
// revokes the ones in use, so a flood would churn every client of them.
const (
	RotationsPerMinute = 5
	RotationBurst      = 5
)

// HTTP server limits. A client that is slow to send its request, or to
// read the answer, is dropped instead of holding a connection forever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 16 << 10
)

// MaxConns bounds the open connections of one listener.
const MaxConns = 512

// APIOptions are what a listener serves beyond rotor's own endpoints.
type APIOptions struct {
	// Proxy, if set, serves Vault's API paths (/v1/...): the API proxy.
	Proxy http.Handler
	// CacheClear, if set, serves POST /agent/v1/cache-clear.
	CacheClear http.Handler
	// Quit, if set, is POST /agent/v1/quit (agent_api { enable_quit }):
	// rotor stops as on SIGTERM.
	Quit func()
}

// Server serves the local API on one listener.
type Server struct {
	cfg       ListenerOptions
	src       Source
	log       *slog.Logger
	srv       *http.Server
	ln        net.Listener
	sock      *socketFile // the unix socket this server created
	rotations *rate.Limiter
	now       func() time.Time // the rate limiter's clock (tests replace it)
	closeOnce sync.Once
}

// NewServer checks cfg and binds the listener now (so a taken port or a
// bad socket path fails at start); it serves nothing until Run.
func NewServer(cfg ListenerOptions, src Source, m *Metrics, log *slog.Logger, api APIOptions) (*Server, error) {
	s := &Server{cfg: cfg, src: src, log: log, now: time.Now,
		rotations: rate.NewLimiter(rate.Every(time.Minute/RotationsPerMinute), RotationBurst)}
	fail := func(err error) (*Server, error) {
		return nil, fmt.Errorf("listener %s %s: %w", cfg.Type, cfg.Address, err)
	}
	if cfg.Role != "" && cfg.Role != RoleDefault && cfg.Role != RoleMetricsOnly {
		return fail(fmt.Errorf("role %q: use %q or %q", cfg.Role, RoleDefault, RoleMetricsOnly))
	}
	tlsConf, err := listenerTLS(cfg)
	if err != nil {
		return fail(err)
	}
	if cfg.Type == "tcp" && cfg.TLSCertFile == "" && !cfg.TLSDisable && !loopback(cfg.Address) {
		return fail(fmt.Errorf("%s is not a loopback address: serve it with tls_cert_file and tls_key_file, or set tls_disable = true to allow plain HTTP there", cfg.Address))
	}
	hosts := parseHosts(cfg.AllowedHosts)
	if h, _, err := net.SplitHostPort(cfg.Address); err == nil && h != "" {
		hosts[strings.ToLower(h)] = true // the name the operator chose to listen on
	}
	routes := []route{
		{pattern: "GET /healthz", handler: func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) }},
		{pattern: "GET /readyz", handler: s.readyz},
		{pattern: "GET /readyz/{template...}", handler: s.readyzTemplate},
		{pattern: "GET /agent/v1/status", handler: func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, src.Status().View()) }},
		{pattern: "POST /agent/v1/rotate", handler: s.rotate, mutation: true},
	}
	metrics := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.Write(w)
	}
	// Vault Agent's path, and Prometheus' default one.
	routes = append(routes, route{pattern: "GET /agent/v1/metrics", metrics: true, handler: metrics},
		route{pattern: "GET /metrics", metrics: true, handler: metrics})
	if api.CacheClear != nil {
		routes = append(routes, route{pattern: "POST /agent/v1/cache-clear", handler: api.CacheClear.ServeHTTP, mutation: true})
	}
	if api.Quit != nil && cfg.EnableQuit {
		routes = append(routes, route{pattern: "POST /agent/v1/quit", mutation: true, handler: func(w http.ResponseWriter, _ *http.Request) {
			s.log.Info("quit requested over the API")
			writeJSON(w, 200, map[string]any{"quitting": true})
			api.Quit()
		}})
	}
	if api.Proxy != nil {
		// Everything under /v1/ is Vault's: rotor serves none of its own
		// endpoints there, so a proxied path is never shadowed.
		// The proxy extends the write deadline itself when it waits for
		// Vault; a cached answer is written at once.
		routes = append(routes, route{pattern: "/v1/", proxy: true, handler: api.Proxy.ServeHTTP})
	}
	s.srv = &http.Server{
		Handler:           newGuard(routes, cfg.Role == RoleMetricsOnly, cfg.Type == "unix", cfg.RequireRequestHeader, hosts),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         tlsConf,
		// net/http's own complaints (TLS handshakes, bad requests) go to
		// rotor's log, not to stderr.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if !http2Ciphers(tlsConf) {
		// Go's HTTP/2 refuses to start without one of the suites it
		// requires; Vault only warns. Serve HTTP/1.1 instead of failing.
		s.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		log.Warn("tls_cipher_suites has none of the suites HTTP/2 requires; the listener serves HTTP/1.1 only", "address", cfg.Address)
	}
	switch cfg.Type {
	case "unix":
		s.ln, s.sock, err = listenUnix(cfg)
	default:
		s.ln, err = net.Listen("tcp", cfg.Address)
	}
	if err != nil {
		return fail(err)
	}
	// Past MaxConns, a new connection waits in the kernel's backlog until
	// one closes: a client cannot hold rotor's file descriptors and memory
	// with idle connections.
	s.ln = netutil.LimitListener(s.ln, MaxConns)
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() string {
	if s.sock != nil {
		return s.sock.path // the listener knows only its temporary path
	}
	return s.ln.Addr().String()
}

// Run serves until ctx is done, then shuts down gracefully and removes
// the unix socket it created.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- s.srv.ServeTLS(s.ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- s.srv.Serve(s.ln)
		}
	}()
	s.log.Info("local API listening", "type", s.cfg.Type, "address", s.Addr(), "tls", s.cfg.TLSCertFile != "", "role", s.cfg.Role)
	select {
	case err := <-errc:
		s.Close()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("listener %s: %w", s.Addr(), err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
		s.Close()
		return nil
	}
}

// Close releases the listener and removes the unix socket this server
// created (used when start-up fails, and by Run).
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil // Shutdown closed it already
		}
		s.sock.remove()
	})
	return err
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	st := s.src.Status()
	if why := st.NotReady(); len(why) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "not_ready": why})
		return
	}
	body := map[string]any{"ready": true}
	if d := st.Degraded(); len(d) > 0 {
		body["degraded"] = d
	}
	writeJSON(w, 200, body)
}

func (s *Server) readyzTemplate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("template")
	st := s.src.Status()
	for _, t := range st.Templates {
		if t.Name == name || strings.TrimPrefix(t.Name, "/") == name {
			if t.Rendered && st.Authenticated {
				body := map[string]any{"ready": true, "template": t.Name}
				if e := unconfirmed(t); e != nil {
					body["degraded"] = e // still ready: the files hold working secrets
				}
				writeJSON(w, 200, body)
				return
			}
			why := templateReason(t)
			if !st.Authenticated {
				why = ErrorInfo{Class: ClassNotAuthenticated}
			}
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "template": t.Name, "reason": why})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, errorBody("no such template"))
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.EnableRotate {
		writeJSON(w, http.StatusForbidden, errorBody("rotation over the API is off; set enable_rotate = true in the listener block"))
		return
	}
	now := s.now()
	if res := s.rotations.ReserveN(now, 1); res.DelayFrom(now) > 0 {
		wait := res.DelayFrom(now)
		res.CancelAt(now) // a refused request takes no token
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, errorBody(fmt.Sprintf("too many rotations: at most %d per minute on this listener", RotationsPerMinute)))
		return
	}
	match := r.URL.Query().Get("secret")
	n := s.src.Rotate(match)
	s.log.Info("rotation requested over the API", "match", match, "secrets", n)
	writeJSON(w, 200, map[string]any{"rotating": n})
}

// loopback reports whether a TCP address names a loopback host.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
