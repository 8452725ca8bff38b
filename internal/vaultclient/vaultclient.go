// Package vaultclient builds the Vault API client every part of rotor
// shares, from the vault block (environment overrides already applied).
package vaultclient

import (
	"fmt"
	"net/http"
	"sync/atomic"

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
	// Counter, if set, counts every HTTP request sent to Vault.
	Counter *atomic.Int64
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
	if o.Counter != nil {
		c.HttpClient.Transport = &counting{next: c.HttpClient.Transport, n: o.Counter}
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

type counting struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}
