package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// ListenerOptions describe one listener of the local API. They are
// comparable, so a reload can tell whether a listener changed.
type ListenerOptions struct {
	Type        string // "tcp" or "unix"
	Address     string
	Mode        os.FileMode // unix socket mode
	TLSCertFile string
	TLSKeyFile  string
	// EnableRotate allows POST /v1/rotate.
	EnableRotate bool
}

// Server serves the local API on one listener.
type Server struct {
	cfg ListenerOptions
	src Source
	log *slog.Logger
	srv *http.Server
	ln  net.Listener
}

// NewServer binds the listener now (so a taken port or bad socket path
// fails at start) and serves nothing until Run.
func NewServer(cfg ListenerOptions, src Source, m *Metrics, log *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, src: src, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /readyz/{template...}", s.readyzTemplate)
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, src.Status()) })
	mux.HandleFunc("POST /v1/rotate", s.rotate)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.Write(w)
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	var err error
	switch cfg.Type {
	case "unix":
		os.Remove(cfg.Address) // a stale socket from a previous run
		if s.ln, err = net.Listen("unix", cfg.Address); err == nil {
			err = os.Chmod(cfg.Address, cfg.Mode)
		}
	default:
		s.ln, err = net.Listen("tcp", cfg.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("listener %s %s: %w", cfg.Type, cfg.Address, err)
	}
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCertFile != "" {
			errc <- s.srv.ServeTLS(s.ln, s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
		} else {
			errc <- s.srv.Serve(s.ln)
		}
	}()
	s.log.Info("local API listening", "type", s.cfg.Type, "address", s.Addr(), "tls", s.cfg.TLSCertFile != "")
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("listener %s: %w", s.Addr(), err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
		if s.cfg.Type == "unix" {
			os.Remove(s.cfg.Address)
		}
		return nil
	}
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	st := s.src.Status()
	if why := st.NotReady(); len(why) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "not_ready": why})
		return
	}
	writeJSON(w, 200, map[string]any{"ready": true})
}

func (s *Server) readyzTemplate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("template")
	st := s.src.Status()
	for _, t := range st.Templates {
		if t.Name == name || strings.TrimPrefix(t.Name, "/") == name {
			if t.Rendered && st.Authenticated {
				writeJSON(w, 200, map[string]any{"ready": true, "template": t.Name})
				return
			}
			why := "not rendered yet"
			if t.LastError != "" {
				why = t.LastError
			}
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "template": t.Name, "reason": why})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("no template %q", name)})
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.EnableRotate {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "rotation over the API is off; set enable_rotate = true in the listener block"})
		return
	}
	match := r.URL.Query().Get("secret")
	n := s.src.Rotate(match)
	s.log.Info("rotation requested over the API", "match", match, "secrets", n)
	writeJSON(w, 200, map[string]any{"rotating": n})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Close releases the listener without serving (when start-up fails).
func (s *Server) Close() error { return s.ln.Close() }
