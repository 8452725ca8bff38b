package vaulttest

import (
	"testing"

	"github.com/hashicorp/vault/api"
)

// SetupPKI builds the dynamic-secrets article's PKI: a root CA at pki/, an
// intermediate at pki_int/ signed by it, and the role
// pki_int/roles/web-servers (EC P-256, *.example.com, max_ttl maxTTL).
// roleOpts adds or overrides role fields (e.g. "generate_lease": true).
func SetupPKI(t testing.TB, c *api.Client, maxTTL string, roleOpts map[string]any) {
	t.Helper()
	EnableSecrets(t, c, "pki", "pki", nil)
	EnableSecrets(t, c, "pki_int", "pki", nil)
	tune := func(path string) {
		maxTTL := "87600h"
		if err := c.Sys().TuneMountAllowNil(path, api.TuneMountConfigInput{MaxLeaseTTL: &maxTTL}); err != nil {
			t.Fatalf("vaulttest: tune %s: %v", path, err)
		}
	}
	tune("pki")
	tune("pki_int")
	write(t, c, "pki/root/generate/internal", map[string]any{"common_name": "Example Root CA", "ttl": "87600h", "key_type": "ec", "key_bits": 256})
	csr := write(t, c, "pki_int/intermediate/generate/internal", map[string]any{"common_name": "Example Intermediate CA", "key_type": "ec", "key_bits": 256})
	signed := write(t, c, "pki/root/sign-intermediate", map[string]any{"csr": csr.Data["csr"], "format": "pem_bundle", "ttl": "43800h"})
	write(t, c, "pki_int/intermediate/set-signed", map[string]any{"certificate": signed.Data["certificate"]})
	role := map[string]any{
		"allowed_domains":    "example.com,internal.example.com",
		"allow_subdomains":   true,
		"allow_bare_domains": false,
		"max_ttl":            maxTTL,
		"key_type":           "ec",
		"key_bits":           256,
		"require_cn":         true,
		"server_flag":        true,
		"client_flag":        false,
		"enforce_hostnames":  true,
		"allow_ip_sans":      true,
	}
	for k, v := range roleOpts {
		role[k] = v
	}
	write(t, c, "pki_int/roles/web-servers", role)
}
