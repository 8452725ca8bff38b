package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/rotorproject/rotor/internal/atomicfile"
)

// KerberosOptions configure the kerberos method (Vault Agent's keys).
type KerberosOptions struct {
	Username     string // the keytab entry to log in as
	Service      string // the SPN whose ticket goes to Vault, e.g. HTTP/vault.example.com
	Realm        string
	KeytabPath   string
	Krb5ConfPath string
	// DisableFASTNegotiation turns off FAST (PA-FX-FAST) armouring of the
	// pre-authentication, for KDCs that do not offer it.
	DisableFASTNegotiation bool
	// RemoveInstanceName drops the instance part ("user/host" -> "user")
	// of the keytab's principals before logging in.
	RemoveInstanceName bool
}

// maxKerberosFileBytes bounds the keytab and krb5.conf read at each
// login: both are a few KiB.
const maxKerberosFileBytes = 1 << 20

// kerberos logs in with Vault's kerberos auth method over SPNEGO, as Vault
// Agent does: it gets a TGT from the KDC with the keytab's key, a service
// ticket for Service, and sends the SPNEGO token wrapping the AP-REQ in an
// "Authorization: Negotiate" header with an empty body to <mount>/login.
// Vault decrypts the ticket with its own keytab and looks the user up in
// LDAP for its groups. The keytab and krb5.conf are read at each login,
// so a rotated keytab is used at the next one.
type kerberos struct {
	mount string
	cfg   KerberosOptions
}

func newKerberos(mount string, o KerberosOptions) (Method, error) {
	for _, k := range []struct{ name, v string }{{"username", o.Username}, {"service", o.Service}, {"realm", o.Realm},
		{"keytab_path", o.KeytabPath}, {"krb5conf_path", o.Krb5ConfPath}} {
		if k.v == "" {
			return nil, fmt.Errorf("kerberos: %s is required", k.name)
		}
	}
	return &kerberos{mount: mount, cfg: o}, nil
}

func (k *kerberos) credentialFiles() []string { return []string{k.cfg.KeytabPath} }

func (k *kerberos) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	// gokrb5 takes no context: the exchange with the KDC runs on its own
	// and a cancelled login stops waiting for it (the KDC's own timeouts
	// end it).
	type result struct {
		header string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		h, err := k.negotiate()
		done <- result{h, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: kerberos login: %v", ErrCredentials, r.err)
	}
	noteCredential(ctx, strings.TrimPrefix(r.header, "Negotiate "))
	c.AddHeader("Authorization", r.header)
	return loginWrite(ctx, c, k.mount+"/login", map[string]any{})
}

// negotiate returns the Authorization header's value: "Negotiate " and
// the base64 SPNEGO token.
func (k *kerberos) negotiate() (string, error) {
	ktBytes, err := atomicfile.ReadRegular(k.cfg.KeytabPath, maxKerberosFileBytes)
	if err != nil {
		return "", fmt.Errorf("read the keytab: %v", err)
	}
	kt := keytab.New()
	if err := kt.Unmarshal(ktBytes); err != nil {
		return "", fmt.Errorf("the keytab %s does not parse: %v", k.cfg.KeytabPath, err)
	}
	if k.cfg.RemoveInstanceName {
		for i := range kt.Entries {
			// As the plugin: the principal's text ("user/host@REALM")
			// split at "/"; with an instance, the first part is the name.
			p := &kt.Entries[i].Principal
			if parts := strings.Split(p.String(), "/"); len(parts) > 1 {
				p.Components = []string{parts[0]}
				p.NumComponents = 1
			}
		}
	}
	confBytes, err := atomicfile.ReadRegular(k.cfg.Krb5ConfPath, maxKerberosFileBytes)
	if err != nil {
		return "", fmt.Errorf("read krb5.conf: %v", err)
	}
	conf, err := krbconfig.NewFromString(string(confBytes))
	if err != nil {
		return "", fmt.Errorf("%s does not parse: %v", k.cfg.Krb5ConfPath, err)
	}
	cl := krbclient.NewWithKeytab(k.cfg.Username, k.cfg.Realm, kt, conf,
		krbclient.AssumePreAuthentication(true), krbclient.DisablePAFXFAST(k.cfg.DisableFASTNegotiation))
	if err := cl.Login(); err != nil {
		return "", fmt.Errorf("log in to the KDC as %s@%s: %v", k.cfg.Username, k.cfg.Realm, err)
	}
	defer cl.Destroy()
	sp := spnego.SPNEGOClient(cl, k.cfg.Service)
	if err := sp.AcquireCred(); err != nil {
		return "", fmt.Errorf("acquire a credential: %v", err)
	}
	tok, err := sp.InitSecContext()
	if err != nil {
		return "", fmt.Errorf("get a service ticket for %s: %v", k.cfg.Service, err)
	}
	b, err := tok.Marshal()
	if err != nil {
		return "", errors.New("encode the SPNEGO token: " + err.Error())
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), nil
}
