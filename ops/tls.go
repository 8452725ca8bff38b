package ops

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/rotorproject/rotor/internal/tlsconf"
)

// listenerTLS builds a listener's TLS settings as Vault's own listener
// does (internalshared/listenerutil.TLSConfig): versions tls12 to tls13
// unless set, cipher suites by name, a client certificate asked for but
// not required, required and verified with tls_require_and_verify_client_cert
// (against tls_client_ca_file, or the system roots), or not asked for with
// tls_disable_client_certs. Every setting is honoured or refused here:
// none is dropped.
func listenerTLS(cfg ListenerOptions) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert}
	for _, v := range []struct {
		name, val string
		dst       *uint16
	}{{"tls_min_version", cfg.TLSMinVersion, &c.MinVersion}, {"tls_max_version", cfg.TLSMaxVersion, &c.MaxVersion}} {
		if v.val == "" {
			continue
		}
		n, ok := tlsconf.Version(v.val)
		if !ok {
			return nil, fmt.Errorf("%s %q: use tls10, tls11, tls12 or tls13", v.name, v.val)
		}
		*v.dst = n
	}
	if c.MaxVersion < c.MinVersion {
		return nil, errors.New("tls_max_version must be greater than or equal to tls_min_version")
	}
	if cfg.TLSCipherSuites != "" {
		ids, err := tlsconf.CipherSuites(cfg.TLSCipherSuites)
		if err != nil {
			return nil, fmt.Errorf("tls_cipher_suites: %w", err)
		}
		c.CipherSuites = ids
	}
	if cfg.TLSRequireClientCert {
		if cfg.TLSDisableClientCerts {
			return nil, errors.New("tls_disable_client_certs and tls_require_and_verify_client_cert are mutually exclusive")
		}
		c.ClientAuth = tls.RequireAndVerifyClientCert
		if cfg.TLSClientCAFile != "" {
			pem, err := os.ReadFile(cfg.TLSClientCAFile)
			if err != nil {
				return nil, fmt.Errorf("failed to read tls_client_ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("failed to parse CA certificate in tls_client_ca_file %s", cfg.TLSClientCAFile)
			}
			c.ClientCAs = pool
		}
	}
	if cfg.TLSDisableClientCerts {
		c.ClientAuth = tls.NoClientCert
	}
	return c, nil
}

// http2Ciphers reports whether HTTP/2 can run with c's cipher suites
// (RFC 7540 9.2.2: TLS 1.2 needs an ECDHE AES-128-GCM suite).
func http2Ciphers(c *tls.Config) bool {
	if len(c.CipherSuites) == 0 || c.MaxVersion >= tls.VersionTLS13 && c.MinVersion >= tls.VersionTLS13 {
		return true
	}
	for _, id := range c.CipherSuites {
		if id == tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || id == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			return true
		}
	}
	return false
}
