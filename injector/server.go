package injector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Server is the webhook's HTTPS server: /mutate (AdmissionReview v1),
// /healthz for the Deployment's probes.
type Server struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// NewServer listens on addr (":8443") with the reloading certificate. It
// starts serving only in Run.
func NewServer(addr string, certs *CertReloader, h *Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/mutate", h)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Server{ln: ln, log: log, srv: &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is done, then shuts down gracefully (10s).
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ServeTLS(s.ln, "", "") }()
	s.log.Info("injector listening", "component", "injector", "address", s.ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// InCluster describes how to reach the API server from a pod: the
// service environment variables and the mounted service account.
type InCluster struct {
	URL       string // https://host:port
	TokenFile string
	CAFile    string
}

// InClusterFromEnv is the standard in-cluster configuration.
func InClusterFromEnv() (InCluster, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return InCluster{}, errors.New("not running in a cluster (KUBERNETES_SERVICE_HOST is not set)")
	}
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
	return InCluster{URL: "https://" + net.JoinHostPort(host, port), TokenFile: sa + "token", CAFile: sa + "ca.crt"}, nil
}

// SidecarForServer asks the API server its version (GET /version) and
// returns Native from Kubernetes 1.29 on (sidecar containers are on by
// default since then), Classic before.
func SidecarForServer(ctx context.Context, c InCluster) (string, string, error) {
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return "", "", err
	}
	if !pool.AppendCertsFromPEM(ca) {
		return "", "", fmt.Errorf("%s holds no PEM certificate", c.CAFile)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/version", nil)
	if err != nil {
		return "", "", err
	}
	if c.TokenFile != "" {
		tok, err := os.ReadFile(c.TokenFile)
		if err != nil {
			// Said here: without it the API server's 401 would be
			// unexplained.
			return "", "", fmt.Errorf("service account token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("GET /version: %s", resp.Status)
	}
	var v struct{ Major, Minor, GitVersion string }
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<16)).Decode(&v); err != nil {
		return "", "", fmt.Errorf("GET /version: %w", err)
	}
	mode, err := sidecarForVersion(v.Major, v.Minor)
	return mode, v.GitVersion, err
}

// sidecarForVersion: minor versions may carry a "+" (GKE, EKS: "29+").
func sidecarForVersion(major, minor string) (string, error) {
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(strings.TrimRight(minor, "+"))
	if err1 != nil || err2 != nil {
		return "", fmt.Errorf("unreadable server version %q.%q", major, minor)
	}
	if ma > 1 || (ma == 1 && mi >= 29) {
		return Native, nil
	}
	return Classic, nil
}
