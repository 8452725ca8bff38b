package config

import (
	"time"
)

// methodKeys lists each method's config keys: the registry of auth methods
// as far as configuration goes.
var methodKeys = map[string]spec{
	"approle":    {known: []string{"role_id_file_path", "secret_id_file_path", "remove_secret_id_file_after_reading", "secret_id_response_wrapping_path"}},
	"kubernetes": {known: []string{"role", "token_path"}},
	"jwt": {known: []string{"path", "role", "remove_jwt_after_reading"}, ignored: map[string]string{
		"remove_jwt_follows_symlinks": "Vault Agent removes the file a symlinked JWT path points to",
		"jwt_read_period":             "Vault Agent reads the JWT file on this period; rotor reads it at each login",
	}},
	"cert": {known: []string{"name", "ca_cert", "client_cert", "client_key", "reload"}, ignored: map[string]string{
		"reload_period": "Vault Agent reloads the certificate files on this period; rotor reads them at each login when reload = true",
	}},
	"token_file": {known: []string{"token_file_path"}},
	"aws":        {known: []string{"type", "role", "access_key", "secret_key", "session_token", "header_value", "nonce", "region", "credential_poll_interval"}},
	"gcp":        gcpKeys,
	"azure":      azureKeys,
	"alicloud":   aliCloudKeys,
	"ldap":       ldapKeys, // methods_other.go
	"kerberos":   kerberosKeys,
	"cf":         cfKeys,
	"pcf":        cfKeys, // Vault Agent's old name for cf
	"oci":        ociKeys,
}

// mcfg reads one method's config map with Vault Agent's constructor rules.
type mcfg struct {
	d     *decoder
	b     *block
	where string
	at    Pos // the method block, for missing keys
}

func (c mcfg) str(name string, dst *string) bool {
	if a := c.b.one(name); a != nil {
		return c.d.mapStr(a, c.where, name, dst)
	}
	return false
}

// required reads a string that must be there and not be empty.
func (c mcfg) required(name string, dst *string) {
	if !c.b.has(name) {
		c.d.ds.errorf(c.at, "Missing required argument", "%s: %q is required.", c.where, name)
		return
	}
	if c.str(name, dst) && *dst == "" {
		c.d.ds.errorf(c.b.one(name).vpos, "Invalid value", "%s: %q is empty.", c.where, name)
	}
}

func (c mcfg) looseBool(name string, dst *bool) {
	if a := c.b.one(name); a != nil {
		c.d.looseBool(a, c.where, name, dst)
	}
}

func (c mcfg) secret(name string, dst *Secret) {
	var s string
	if c.str(name, &s) {
		*dst = Secret(s)
	}
}

func (d *decoder) decodeMethodConfig(b *block, m *Method, at Pos) {
	c := mcfg{d: d, b: b, where: b.where, at: at}
	switch m.Type {
	case "approle":
		a := &AppRole{RemoveSecretIDFileAfterReading: true}
		c.required("role_id_file_path", &a.RoleIDFilePath)
		c.str("secret_id_file_path", &a.SecretIDFilePath)
		c.looseBool("remove_secret_id_file_after_reading", &a.RemoveSecretIDFileAfterReading)
		if c.str("secret_id_response_wrapping_path", &a.SecretIDResponseWrappingPath) {
			w := b.one("secret_id_response_wrapping_path")
			switch {
			case a.SecretIDFilePath == "":
				d.ds.warnf(w.vpos, "Ignored", "%s: secret_id_response_wrapping_path is used only with secret_id_file_path (the file holding the wrapping token); as Vault Agent, rotor ignores it here.", c.where)
				a.SecretIDResponseWrappingPath = ""
			case a.SecretIDResponseWrappingPath == "":
				d.ds.errorf(w.vpos, "Invalid value", "%s: \"secret_id_response_wrapping_path\" is empty.", c.where)
			}
		}
		m.AppRole = a
	case "kubernetes":
		k := &Kubernetes{TokenPath: DefaultKubernetesTokenPath}
		c.required("role", &k.Role)
		c.str("token_path", &k.TokenPath)
		m.Kubernetes = k
	case "jwt":
		j := &JWT{RemoveJWTAfterReading: true}
		c.required("path", &j.Path)
		c.required("role", &j.Role)
		c.looseBool("remove_jwt_after_reading", &j.RemoveJWTAfterReading)
		m.JWT = j
	case "cert":
		ct := &Cert{}
		c.str("name", &ct.Name)
		c.str("ca_cert", &ct.CACert)
		c.str("client_cert", &ct.ClientCert)
		c.str("client_key", &ct.ClientKey)
		if a := b.one("reload"); a != nil {
			d.strictBool(a, c.where, "reload", &ct.Reload)
		}
		m.Cert = ct
	case "token_file":
		t := &TokenFile{}
		c.required("token_file_path", &t.Path)
		m.TokenFile = t
	case "aws":
		m.AWS = c.aws()
	case "gcp":
		m.GCP = c.gcp()
	case "azure":
		m.Azure = c.azure()
	case "alicloud":
		m.AliCloud = c.aliCloud()
	case "ldap":
		m.LDAP = c.ldap()
	case "kerberos":
		m.Kerberos = c.kerberos()
	case "cf", "pcf":
		m.CF = c.cf()
	case "oci":
		m.OCI = c.oci()
	}
}

func (c mcfg) aws() *AWS {
	a := &AWS{}
	c.required("type", &a.Type)
	c.required("role", &a.Role)
	if a.Type != "" && a.Type != "iam" && a.Type != "ec2" {
		c.d.ds.errorf(c.b.one("type").vpos, "Invalid value", "%s: type %q: use \"iam\" or \"ec2\".", c.where, a.Type)
	}
	c.secret("access_key", &a.AccessKey)
	c.secret("secret_key", &a.SecretKey)
	c.secret("session_token", &a.SessionToken)
	c.str("header_value", &a.HeaderValue)
	c.secret("nonce", &a.Nonce)
	c.str("region", &a.Region)
	if it := c.b.one("credential_poll_interval"); it != nil && a.Type != "ec2" {
		var n int
		if c.d.mapInt(it, c.where, "credential_poll_interval", &n) {
			if n <= 0 {
				c.d.ds.errorf(it.vpos, "Invalid value", "%s: credential_poll_interval must be a positive number of seconds.", c.where)
			}
			a.CredentialPollInterval = time.Duration(n) * time.Second
		}
	}
	return a
}
