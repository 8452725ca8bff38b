// Package vaultclient builds the Vault API client every part of rotor
// shares, from its own typed settings (the agent translates the vault
// block into them, environment overrides already applied).
package vaultclient

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/hashicorp/vault/api"
)

// Config is how to reach Vault: the vault block after environment
// overrides. It is comparable, so a reload can tell whether it changed.
type Config struct {
	Address       string
	CACert        string
	CAPath        string
	ClientCert    string
	ClientKey     string
	TLSSkipVerify bool
	TLSServerName string
	Namespace     string
	// NumRetries is how often the client retries a request on 412, 5xx or
	// a connection error; 0 turns its retries off.
	NumRetries int
}

// Options tune the client beyond Config.
type Options struct {
	// MaxConnsPerHost bounds concurrent connections to Vault (0: unbounded).
	MaxConnsPerHost int
	// ClientCert/ClientKey override Config's TLS client certificate (the
	// cert auth method).
	ClientCert, ClientKey string
	// Observe, if set, sees every HTTP request sent to Vault: its path,
	// status (0 when no answer came) and duration. It must not block.
	Observe func(path string, status int, d time.Duration)
	// Logger receives a warning when an environment variable that would
	// redirect rotor's requests is ignored. Nil: no warning.
	Logger *slog.Logger
	// MaxResponseBytes bounds every response body; a larger one fails its
	// request with ErrResponseTooLarge. 0: DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// ignoredEnv are variables the Vault API client would honour by itself but
// rotor must not: VAULT_AGENT_ADDR silently replaces the configured address
// (so a stray variable would send the AppRole secret_id to another server
// while the log shows the configured one), and an SRV lookup lets DNS pick
// the server. Vault Agent clears VAULT_AGENT_ADDR for the same reason.
//
// VAULT_PROXY_ADDR and VAULT_HTTP_PROXY (and their BAO_ names) make the
// client send every request through the HTTP proxy they name, in place of
// the standard HTTPS_PROXY/HTTP_PROXY/NO_PROXY: a stray one (often set
// for a Vault Proxy, which is no HTTP proxy) would pass rotor's logins
// and token through another program. rotor ignores them too; the
// standard variables still apply, as for any Go program.
var ignoredEnv = []string{"VAULT_AGENT_ADDR", "BAO_AGENT_ADDR", "VAULT_SRV_LOOKUP",
	"VAULT_PROXY_ADDR", "VAULT_HTTP_PROXY", "BAO_PROXY_ADDR", "BAO_HTTP_PROXY"}

// New returns a client with no token set: api.NewClient would pick up
// VAULT_TOKEN by itself, and rotor decides what token each request uses.
func New(v Config, o Options) (*api.Client, error) {
	c := api.DefaultConfig()
	if c.Error != nil {
		return nil, fmt.Errorf("vault client: %w", c.Error)
	}
	for _, name := range ignoredEnv {
		if os.Getenv(name) != "" && o.Logger != nil {
			o.Logger.Warn("environment variable ignored: rotor talks only to the configured Vault address, through the proxy HTTPS_PROXY or HTTP_PROXY name if set",
				"variable", name, "address", RedactedAddress(v.Address))
		}
	}
	c.AgentAddress, c.SRVLookup = "", false
	if t, ok := c.HttpClient.Transport.(*http.Transport); ok {
		// DefaultConfig replaced it when VAULT_PROXY_ADDR or
		// VAULT_HTTP_PROXY was set: back to the standard variables.
		t.Proxy = http.ProxyFromEnvironment
	}
	c.Address = v.Address
	// VAULT_MAX_RETRIES, which DefaultConfig has read, wins over the
	// configured count, as in Vault Agent (the vault-k8s injector sets it).
	if os.Getenv(api.EnvVaultMaxRetries) == "" {
		c.MaxRetries = v.NumRetries
	}
	tls := &api.TLSConfig{
		CACert:        v.CACert,
		CAPath:        v.CAPath,
		ClientCert:    v.ClientCert,
		ClientKey:     v.ClientKey,
		TLSServerName: v.TLSServerName,
		Insecure:      v.TLSSkipVerify,
	}
	if o.ClientCert != "" {
		tls.ClientCert, tls.ClientKey = o.ClientCert, o.ClientKey
	}
	if err := c.ConfigureTLS(tls); err != nil {
		return nil, fmt.Errorf("vault TLS settings: %w", err)
	}
	if t, ok := c.HttpClient.Transport.(*http.Transport); ok {
		t.MaxConnsPerHost = o.MaxConnsPerHost
		if o.MaxConnsPerHost > 0 {
			t.MaxIdleConnsPerHost = o.MaxConnsPerHost
		}
	}
	limit := o.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	c.HttpClient.Transport = &limited{next: c.HttpClient.Transport, max: limit}
	if o.Observe != nil {
		c.HttpClient.Transport = &observed{next: c.HttpClient.Transport, observe: o.Observe}
	}
	client, err := api.NewClient(c)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	client.ClearToken()
	client.SetNamespace(v.Namespace)
	// Wrapping is decided per request, never inherited from VAULT_WRAP_TTL.
	client.SetWrappingLookupFunc(func(string, string) string { return "" })
	return client, nil
}

type observed struct {
	next    http.RoundTripper
	observe func(string, int, time.Duration)
}

func (o *observed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := o.next.RoundTrip(r)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	o.observe(r.URL.Path, status, time.Since(start))
	return resp, err
}

// RedactedAddress is a Vault address fit for a log line: a password in
// its userinfo is replaced by "xxxxx".
func RedactedAddress(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		return "(an address that does not parse)"
	}
	return u.Redacted()
}
