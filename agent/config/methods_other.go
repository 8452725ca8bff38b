package config

import "time"

// The ldap, kerberos, cf (and its old name pcf) and oci methods' config
// maps, read with the rules of Vault Agent 1.21's constructors
// (command/agentproxyshared/auth/{ldap,kerberos,cf,oci}).

// LDAP is the ldap method's config map.
type LDAP struct {
	Username         string
	PasswordFilePath string
	// RemovePasswordAfterReading deletes the password file once read
	// (default true); the password is kept in memory for later logins.
	RemovePasswordAfterReading bool
	// RemovePasswordFollowsSymlinks removes the file a symlinked
	// password_file_path points to, not the symlink.
	RemovePasswordFollowsSymlinks bool
}

// Kerberos is the kerberos method's config map.
type Kerberos struct {
	Username               string
	Service                string
	Realm                  string
	KeytabPath             string
	Krb5ConfPath           string
	DisableFASTNegotiation bool
	// RemoveInstanceName drops the instance ("/host") from the keytab's
	// principals before logging in, as the kerberos plugin's CLI does.
	RemoveInstanceName bool
}

// CF is the cf (Cloud Foundry) method's config map. The instance
// certificate and key paths default to $CF_INSTANCE_CERT and
// $CF_INSTANCE_KEY, read at each login.
type CF struct {
	Role         string
	InstanceCert string // cf_instance_cert (a rotor key; Vault Agent reads only the environment)
	InstanceKey  string // cf_instance_key (likewise)
}

// OCI is the oci method's config map.
type OCI struct {
	Type                   string // "apikey" ("instance" is refused)
	Role                   string
	CredentialPollInterval time.Duration // default 60s
}

// DefaultOCICredentialPollInterval is Vault Agent's default.
const DefaultOCICredentialPollInterval = 60 * time.Second

// otherMethodKeys are these methods' entries of methodKeys.
var (
	ldapKeys = spec{known: []string{"username", "password_file_path", "remove_password_after_reading", "remove_password_follows_symlinks",
		"password_read_period"}}
	kerberosKeys = spec{known: []string{"username", "service", "realm", "keytab_path", "krb5conf_path", "disable_fast_negotiation", "remove_instance_name"}}
	cfKeys       = spec{known: []string{"role", "cf_instance_cert", "cf_instance_key"}}
	ociKeys      = spec{known: []string{"type", "role", "credential_poll_interval"}}
)

func (c mcfg) ldap() *LDAP {
	l := &LDAP{RemovePasswordAfterReading: true}
	c.required("username", &l.Username)
	c.required("password_file_path", &l.PasswordFilePath)
	c.looseBool("remove_password_after_reading", &l.RemovePasswordAfterReading)
	c.looseBool("remove_password_follows_symlinks", &l.RemovePasswordFollowsSymlinks)
	if it := c.b.one("password_read_period"); it != nil {
		// Vault Agent refuses a period that is not a positive duration.
		var p time.Duration
		switch ok := c.d.duration(it, c.where, "password_read_period", &p); {
		case ok && p <= 0:
			c.d.ds.errorf(it.vpos, "Invalid value", "%s: password_read_period must be a positive duration.", c.where)
		case ok:
			c.d.ds.warnf(it.pos, "Ignored by rotor", "%s: password_read_period: Vault Agent re-reads the password file on this period; "+
				"rotor watches the file and reads it at each login, and ignores it.", c.where)
		}
	}
	return l
}

func (c mcfg) kerberos() *Kerberos {
	k := &Kerberos{}
	c.required("username", &k.Username)
	c.required("service", &k.Service)
	c.required("realm", &k.Realm)
	c.required("keytab_path", &k.KeytabPath)
	c.required("krb5conf_path", &k.Krb5ConfPath)
	c.looseBool("disable_fast_negotiation", &k.DisableFASTNegotiation)
	c.looseBool("remove_instance_name", &k.RemoveInstanceName)
	return k
}

func (c mcfg) cf() *CF {
	f := &CF{}
	c.required("role", &f.Role)
	c.str("cf_instance_cert", &f.InstanceCert)
	c.str("cf_instance_key", &f.InstanceKey)
	return f
}

func (c mcfg) oci() *OCI {
	o := &OCI{CredentialPollInterval: DefaultOCICredentialPollInterval}
	c.required("type", &o.Type)
	c.required("role", &o.Role)
	if it := c.b.one("type"); it != nil {
		switch o.Type {
		case "", "apikey":
		case "instance":
			c.d.ds.errorf(it.vpos, "Unsupported value", "%s: type \"instance\" (instance principal) is not supported by rotor: its keys come from the "+
				"instance metadata service at the fixed address 169.254.169.254 and a certificate exchange with OCI's federation endpoint, "+
				"which rotor cannot test against anything faithful; use type \"apikey\".", c.where)
		default:
			c.d.ds.errorf(it.vpos, "Invalid value", "%s: type %q: use \"apikey\" or \"instance\".", c.where, o.Type)
		}
	}
	if it := c.b.one("credential_poll_interval"); it != nil {
		// Vault Agent's ticker panics on 0.
		if c.d.duration(it, c.where, "credential_poll_interval", &o.CredentialPollInterval) && o.CredentialPollInterval <= 0 {
			c.d.ds.errorf(it.vpos, "Invalid value", "%s: credential_poll_interval must be a positive duration.", c.where)
		}
	}
	return o
}
