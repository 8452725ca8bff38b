package config

import (
	"strings"
	"testing"
)

// Every listener TLS key is either applied or refused with Vault's
// reason; the ones Vault ignores are warned about, never silently kept.
func TestListenerTLSKeys(t *testing.T) {
	dir := t.TempDir()
	const l = `listener "tcp" {
  address = "127.0.0.1:8100"
  tls_cert_file = "/c.pem"
  tls_key_file = "/k.pem"
`
	for _, c := range []struct{ name, body, want string }{
		{"bad max version", l + `  tls_max_version = "tls14"
}`, "'tls_max_version' value \"tls14\" not supported"},
		{"max below min", l + `  tls_min_version = "tls13"
  tls_max_version = "tls12"
}`, "'tls_max_version' must be greater than or equal to 'tls_min_version'"},
		{"bad cipher", l + `  tls_cipher_suites = "TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_NOPE"
}`, "invalid value for 'tls_cipher_suites': unsupported cipher \"TLS_NOPE\""},
		{"require and disable", l + `  tls_require_and_verify_client_cert = true
  tls_disable_client_certs = true
}`, "'tls_disable_client_certs' and 'tls_require_and_verify_client_cert' are mutually exclusive"},
	} {
		_, err := Load([]string{write(t, dir, "cfg.hcl", okAuth+c.body)}, nil)
		if err == nil || !strings.Contains(strings.Join(problems(t, err), "\n"), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
	}
	cfg, err := Load([]string{write(t, dir, "cfg.hcl", okAuth+l+`  tls_max_version = "tls12"
  tls_cipher_suites = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
  tls_require_and_verify_client_cert = true
  tls_client_ca_file = "/ca.pem"
}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Listeners[0]
	if got.TLSMaxVersion != "tls12" || got.TLSCipherSuites == "" || !got.TLSRequireAndVerifyClientCert || got.TLSClientCAFile != "/ca.pem" {
		t.Fatalf("listener TLS settings not decoded: %+v", got)
	}
	cfg, err = Load([]string{write(t, dir, "cfg.hcl", okAuth+l+`  tls_client_ca_file = "/ca.pem"
}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warningText(cfg); !strings.Contains(w, "tls_client_ca_file is ignored") {
		t.Fatalf("a client CA without tls_require_and_verify_client_cert: no warning in %q", w)
	}
}

func warningText(cfg *Config) string {
	var b strings.Builder
	for _, w := range cfg.Warnings {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Where rotor exposes less than Vault Agent (no proxy without api_proxy
// or cache; rotor's client certificate kept back), it says so.
func TestProxyExposureWarnings(t *testing.T) {
	dir := t.TempDir()
	const l = `listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
`
	cfg, err := Load([]string{write(t, dir, "cfg.hcl", okAuth+l)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warningText(cfg); !strings.Contains(w, "Add api_proxy {} to keep proxying") {
		t.Fatalf("a listener without api_proxy: no warning in %q", w)
	}
	// A listener written for rotor (its own keys) never relied on Vault
	// Agent's proxying: no warning (make demo's config is one).
	cfg, err = Load([]string{write(t, dir, "cfg.hcl", okAuth+`listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
  enable_rotate = true
}
`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warningText(cfg); strings.Contains(w, "Vault API not proxied") {
		t.Fatalf("a rotor-native listener was warned about: %q", w)
	}
	cfg, err = Load([]string{write(t, dir, "cfg.hcl", okAuth+l+`vault {
  address = "https://127.0.0.1:8200"
  client_cert = "/c.pem"
  client_key = "/k.pem"
}
api_proxy {}
`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warningText(cfg); !strings.Contains(w, "without rotor's TLS client certificate") {
		t.Fatalf("a client certificate with the proxy: no warning in %q", w)
	}
	cfg, err = Load([]string{write(t, dir, "cfg.hcl", okAuth+l+`vault {
  address = "https://127.0.0.1:8200"
  client_cert = "/c.pem"
  client_key = "/k.pem"
}
api_proxy { use_client_cert = true }
`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := warningText(cfg); strings.Contains(w, "client certificate") || !cfg.APIProxy.UseClientCert {
		t.Fatalf("use_client_cert = true: %v, warnings %q", cfg.APIProxy.UseClientCert, w)
	}
}
