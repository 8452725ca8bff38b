package config

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

var vaultSpec = spec{known: []string{"address", "ca_cert", "ca_path", "client_cert", "client_key",
	"tls_skip_verify", "tls_server_name", "namespace", "retry"}}

func (d *decoder) decodeVault(b *block, it *item, v *Vault) {
	v.Range = it.pos
	const w = "vault"
	for _, k := range []struct {
		name string
		dst  *string
	}{{"address", &v.Address}, {"ca_cert", &v.CACert}, {"ca_path", &v.CAPath}, {"client_cert", &v.ClientCert},
		{"client_key", &v.ClientKey}, {"tls_server_name", &v.TLSServerName}, {"namespace", &v.Namespace}} {
		if a := b.one(k.name); a != nil {
			d.str(a, w, k.name, k.dst)
			if k.name == "address" {
				v.AddressRange = a.vpos
			}
		}
	}
	if a := b.one("tls_skip_verify"); a != nil {
		d.looseBool(a, w, "tls_skip_verify", &v.TLSSkipVerify)
	}
	v.NumRetries = 0
	if r := b.single("retry"); r != nil {
		rb := b.blockBody(r, "vault.retry", retrySpec)
		if a := rb.one("num_retries"); a != nil && d.strictInt(a, "vault.retry", "num_retries", &v.NumRetries) {
			switch {
			case v.NumRetries < -1:
				d.ds.errorf(a.vpos, "Invalid value", "vault.retry: num_retries must be -1 (no retries), 0 (the default, 12) or more.")
			case v.NumRetries == 0:
				d.ds.warnf(a.vpos, "Default retries", "vault.retry: num_retries = 0 means the default (12 retries) in Vault Agent, and in rotor; write -1 to turn retries off.")
			}
		}
	}
}

var retrySpec = spec{known: []string{"num_retries"}}

var autoAuthSpec = spec{known: []string{"method", "sink", "sinks", "enable_reauth_on_new_credentials"}}

func (d *decoder) decodeAutoAuth(b *block, it *item) *AutoAuth {
	a := &AutoAuth{Range: it.pos}
	if e := b.one("enable_reauth_on_new_credentials"); e != nil && d.strictBool(e, "auto_auth", "enable_reauth_on_new_credentials", &a.EnableReauthOnNewCredentials) {
		d.ds.warnf(e.pos, "Ignored by rotor", "auto_auth: enable_reauth_on_new_credentials: Vault Agent logs in again when the method's credentials change; rotor reads the credentials at each login and ignores it.")
	}
	methods := b.all("method")
	switch len(methods) {
	case 0:
		d.ds.errorf(it.pos, "Missing method", "auto_auth needs one method block, e.g. method \"approle\" { ... }.")
	default:
		if len(methods) > 1 {
			detail := fmt.Sprintf("auto_auth takes one method; the first is at %s.", methods[0].pos)
			if methods[1].shared {
				detail += jsonSplitHint
			}
			d.ds.errorf(methods[1].pos, "Duplicate block", "%s", detail)
		}
		a.Method = d.decodeMethod(b, methods[0])
	}
	for _, s := range b.all("sink") {
		if sk := d.decodeSink(b, s); sk != nil {
			a.Sinks = append(a.Sinks, sk)
		}
	}
	d.decodeSinksWrapper(b, a)
	// Vault Agent's rule: a wrapped login token goes to exactly one sink,
	// which must not wrap it again.
	if m := a.Method; m != nil && m.WrapTTL > 0 {
		switch {
		case len(a.Sinks) != 1:
			d.ds.errorf(m.Range, "Conflicting options", "method %q: wrap_ttl on the method needs exactly one sink (there are %d).", m.Type, len(a.Sinks))
		case a.Sinks[0].WrapTTL > 0:
			d.ds.errorf(a.Sinks[0].Range, "Conflicting options", "wrap_ttl is set on both the method and its sink; set it on one.")
		}
	}
	return a
}

var methodSpec = spec{
	known: []string{"type", "mount_path", "namespace", "wrap_ttl", "min_backoff", "max_backoff", "exit_on_err", "config"},
	ignored: map[string]string{
		"lease_renewal_threshold": "Vault Agent accepts it on a method and does not use it (the threshold is template_config's)",
	},
}

// unsupportedMethods are Vault Agent's auth methods rotor does not have yet.
// unsupportedMethods are Vault Agent methods rotor does not have: none
// now; kept so a method Vault adds later is named as such.
var unsupportedMethods = []string{}

// methodNames lists the methods rotor has (methodKeys), sorted.
func methodNames() string {
	names := make([]string, 0, len(methodKeys))
	for k := range methodKeys {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (d *decoder) decodeMethod(parent *block, it *item) *Method {
	sp := methodSpec
	if keys, ok := methodKeys[peekType(it)]; ok {
		// A method's own keys written beside its config map: Vault Agent
		// decodes the method struct and skips them.
		sp.moved = map[string]string{}
		for _, k := range keys.all() {
			if !contains(sp.known, k) {
				sp.moved[k] = "config"
			}
		}
	}
	b := parent.typedBody(it, "method", sp)
	typ, ok := parent.typeOf(it, b, "method")
	if !ok {
		return nil
	}
	m := &Method{Type: typ, Range: it.pos}
	where := fmt.Sprintf("method %q", typ)
	b.where = where
	if a := b.one("mount_path"); a != nil {
		d.str(a, where, "mount_path", &m.MountPath)
	}
	m.MountPath = strings.TrimSuffix(m.MountPath, "/")
	if a := b.one("namespace"); a != nil {
		d.str(a, where, "namespace", &m.Namespace)
	}
	for _, k := range []struct {
		name string
		dst  *time.Duration
	}{{"wrap_ttl", &m.WrapTTL}, {"min_backoff", &m.MinBackoff}, {"max_backoff", &m.MaxBackoff}} {
		if a := b.one(k.name); a != nil && d.negDuration(a, where, k.name, k.dst) && *k.dst < 0 {
			// Vault Agent wraps only with a positive wrap_ttl, and takes a
			// backoff that is not positive as unset (its default).
			if k.name == "wrap_ttl" {
				d.ds.warnf(a.vpos, "Setting ignored", "%s: wrap_ttl %s is negative: Vault Agent wraps the login only with a positive wrap_ttl, so it does not wrap it; neither does rotor. Remove it, or write a positive duration.", where, *k.dst)
			} else {
				d.ds.warnf(a.vpos, "Default used", "%s: %s %s is negative: Vault Agent uses its default for it, and so does rotor. Remove it, or write a positive duration.", where, k.name, *k.dst)
			}
			*k.dst = 0
		}
	}
	if a := b.one("exit_on_err"); a != nil {
		d.strictBool(a, where, "exit_on_err", &m.ExitOnErr)
	}
	keys, known := methodKeys[typ]
	if !known {
		if contains(unsupportedMethods, typ) {
			d.ds.errorf(it.pos, "Unsupported auth method", "method %q: Vault Agent has it, rotor does not support it yet; rotor has %s.", typ, methodNames())
		} else {
			d.ds.errorf(it.pos, "Unknown auth method", "method %q is not one of %s.", typ, methodNames())
		}
		return m
	}
	c := b.bodies("config", where+" config", keys)
	d.decodeMethodConfig(c, m, it.pos)
	if typ == "pcf" && configHasString(b.all("config")) {
		// Vault Agent 1.21 normalizes each string of the config map by the
		// method's type, and its table has no "pcf": it refuses the file.
		// With no string in config the type reaches the constructors,
		// which still know it as cf.
		d.ds.errorf(it.pos, "Unknown auth method", "method \"pcf\": Vault Agent 1.21 refuses it (unknown auto-auth method type pcf): the method is now called \"cf\"; write method \"cf\".")
	}
	return m
}

// configHasString reports whether a method's config maps hold a string
// value (quoted or heredoc), known key or not.
func configHasString(items []*item) bool {
	for _, it := range items {
		list, ok := objectList(it.val)
		if !ok {
			continue
		}
		for _, oi := range list.Items {
			if l, ok := oi.Val.(*ast.LiteralType); ok && (l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC) {
				return true
			}
		}
	}
	return false
}
