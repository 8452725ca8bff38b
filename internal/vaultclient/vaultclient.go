// Package vaultclient builds the Vault API client every part of rotor
// shares, from the vault block (environment overrides already applied).
package vaultclient

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/agent/config"
)

// Options tune the client beyond the vault block.
type Options struct {
	// MaxConnsPerHost bounds concurrent connections to Vault (0: unbounded).
	MaxConnsPerHost int
	// ClientCert/ClientKey override the vault block's TLS client
	// certificate (the cert auth method).
	ClientCert, ClientKey string
	// Observe, if set, sees every HTTP request sent to Vault: its path,
	// status (0 when no answer came) and duration. It must not block.
	Observe func(path string, status int, d time.Duration)
}

// New returns a client with no token set: api.NewClient would pick up
// VAULT_TOKEN by itself, and rotor decides what token each request uses.
func New(v config.Vault, o Options) (*api.Client, error) {
	c := api.DefaultConfig()
	if c.Error != nil {
		return nil, fmt.Errorf("vault client: %w", c.Error)
	}
	c.Address = v.Address
	c.MaxRetries = v.NumRetries
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
