package agent

import (
	"log/slog"
	"net"
	"net/url"

	"github.com/rotorproject/rotor/internal/vaultclient"
)

// warnInsecureVault warns, once at start, about vault settings that hand
// rotor's credentials to anyone on the network path: tls_skip_verify (any
// server presenting any certificate is believed) and a plain http address
// on a host other than this one. The address is logged without userinfo.
func warnInsecureVault(log *slog.Logger, v vaultclient.Config) {
	u, err := url.Parse(v.Address)
	if err != nil {
		return // vaultclient.New reports it
	}
	log = log.With("component", "vault", "address", u.Redacted())
	if v.TLSSkipVerify {
		log.Warn("tls_skip_verify is set: Vault's certificate is not checked, so a server impersonating Vault would receive rotor's credentials")
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		log.Warn("the Vault address is plain http to another host: tokens and secrets cross the network unencrypted")
	}
}

// loopback reports whether host is this machine: localhost or a loopback
// IP address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactedAddress is a Vault address fit for a log line, without the
// password of its userinfo.
func RedactedAddress(addr string) string { return vaultclient.RedactedAddress(addr) }
