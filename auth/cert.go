package auth

import (
	"context"

	"github.com/hashicorp/vault/api"
	"github.com/rotorproject/rotor/internal/vaultclient"
	"github.com/rotorproject/rotor/internal/vaulterr"
)

// cert logs in with a TLS client certificate: the credential is the TLS
// handshake itself, so the login goes through a client of its own. With
// reload, the certificate files are read again at each login.
type cert struct {
	mount  string
	cfg    CertOptions
	vault  vaultclient.Config
	client *api.Client // nil when reloading
}

func newCert(mount string, c CertOptions, v vaultclient.Config) (Method, error) {
	m := &cert{mount: mount, cfg: c, vault: v}
	if c.CACert != "" {
		m.vault.CACert, m.vault.CAPath = c.CACert, ""
	}
	if !c.Reload {
		cl, err := m.newClient()
		if err != nil {
			return nil, err
		}
		m.client = cl
	}
	return m, nil
}

func (m *cert) newClient() (*api.Client, error) {
	certFile, keyFile := m.cfg.ClientCert, m.cfg.ClientKey
	if certFile == "" {
		certFile, keyFile = m.vault.ClientCert, m.vault.ClientKey
	}
	c, err := clientWithCert(m.vault, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	vaulterr.Prepare(c) // the lifecycle retries logins, not the client
	return c, nil
}

func (m *cert) Login(ctx context.Context, base *api.Client) (*api.Secret, error) {
	c := m.client
	if c == nil {
		var err error
		if c, err = m.newClient(); err != nil {
			return nil, err
		}
	}
	c.SetNamespace(base.Namespace())
	data := map[string]any{}
	if m.cfg.Name != "" {
		data["name"] = m.cfg.Name
	}
	return loginWrite(ctx, c, m.mount+"/login", data)
}
