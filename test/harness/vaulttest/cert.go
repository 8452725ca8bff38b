package vaulttest

import (
	"testing"

	"github.com/hashicorp/vault/api"
)

// SetupCert enables the cert auth method at mount and trusts caPEM (a CA or
// a leaf certificate) as certs/<name>, with token_ttl ttl and token_policies
// ["default", name]. Logging in needs a server started WithTLS and a client
// presenting a certificate signed by caPEM (see NewClientCert and
// (*Server).NewCertClient).
func SetupCert(t testing.TB, c *api.Client, mount, name string, caPEM []byte, ttl string) {
	t.Helper()
	EnableAuth(t, c, mount, "cert")
	write(t, c, authPath(mount, "certs", name), map[string]any{
		"certificate":    string(caPEM),
		"token_ttl":      ttl,
		"token_policies": rolePolicies(name),
	})
}
