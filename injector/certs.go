package injector

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertReloader serves the certificate in a pair of PEM files and loads it
// again when either file changes: a Secret volume (or cert-manager's
// Secret) is updated in place by the kubelet, so rotation needs no
// restart. A pair that does not load (half-written, key not matching)
// leaves the previous certificate in use.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp string // modification times and sizes of both files
}

// NewCertReloader loads the pair once, so that a wrong path fails at
// startup.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if _, err := r.current(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate. It checks the files'
// modification times on each handshake (two stats) and reads them only
// when they changed.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.current()
}

func (r *CertReloader) current() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, err := fileStamp(r.certFile, r.keyFile)
	if err == nil && stamp == r.stamp && r.cert != nil {
		return r.cert, nil
	}
	if err == nil {
		var c tls.Certificate
		if c, err = tls.LoadX509KeyPair(r.certFile, r.keyFile); err == nil {
			r.cert, r.stamp = &c, stamp
			r.log.Info("serving certificate loaded", "component", "injector", "cert", r.certFile, "not_after", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
			return r.cert, nil
		}
	}
	// Not retried until the files change again: a bad pair is logged
	// once, not at every handshake.
	r.stamp = stamp
	if r.cert != nil {
		r.log.Warn("serving certificate not reloaded; keeping the previous one", "component", "injector", "error", err)
		return r.cert, nil
	}
	return nil, fmt.Errorf("%w: %v", errNoCert, err)
}

func fileStamp(files ...string) (string, error) {
	s := ""
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d/%d;", st.ModTime().UnixNano(), st.Size())
	}
	return s, nil
}
