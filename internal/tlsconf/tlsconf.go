// Package tlsconf reads Vault's listener TLS settings by name (versions,
// cipher suites), for the configuration's validation and the listeners
// alike, so both accept and refuse the same values.
package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// Version returns the TLS version a Vault setting names (tls10, tls11,
// tls12, tls13).
func Version(name string) (uint16, bool) {
	v, ok := map[string]uint16{"tls10": tls.VersionTLS10, "tls11": tls.VersionTLS11, "tls12": tls.VersionTLS12, "tls13": tls.VersionTLS13}[name]
	return v, ok
}

// CipherSuites parses Vault's tls_cipher_suites: comma-separated cipher
// suite names as Go and IANA spell them (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
// with Vault's short CHACHA20 names. TLS 1.3 suites are accepted and, as
// in Go and Vault, not configurable.
func CipherSuites(list string) ([]uint16, error) {
	byName := map[string]uint16{
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[s.Name] = s.ID
	}
	var out []uint16
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("unsupported cipher %q", name)
		}
		out = append(out, id)
	}
	return out, nil
}
