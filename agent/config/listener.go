package config

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	sockaddrtemplate "github.com/hashicorp/go-sockaddr/template"
	"github.com/rotorproject/rotor/internal/tlsconf"
)

// listenerIgnored are listener keys of Vault's shared configuration that
// Vault Agent parses and rotor does not act on.
var listenerIgnored = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"cluster_address", "max_request_size", "max_request_duration",
		"http_read_timeout", "http_read_header_timeout", "http_write_timeout", "http_idle_timeout",
		"proxy_protocol_behavior", "proxy_protocol_authorized_addrs", "x_forwarded_for_authorized_addrs",
		"x_forwarded_for_hop_skips", "x_forwarded_for_reject_not_present", "x_forwarded_for_reject_not_authorized",
		"x_forwarded_for_client_cert_header", "x_forwarded_for_client_cert_header_decoders", "telemetry", "profiling",
		"inflight_requests_logging", "cors_enabled", "cors_allowed_origins", "cors_allowed_headers",
		"custom_response_headers", "chroot_namespace", "redact_addresses", "redact_cluster_name", "redact_version",
		"disable_replication_status_endpoints", "disable_request_limiter", "max_json_depth",
		"max_json_string_value_length", "max_json_object_entry_count", "max_json_array_element_count",
		"max_json_token", "purpose", "proxy_api"} {
		m[k] = "a Vault listener setting that Vault Agent parses"
	}
	return m
}()

var listenerSpec = spec{known: []string{"type", "address", "tls_disable", "tls_cert_file", "tls_key_file",
	"tls_min_version", "tls_max_version", "tls_client_ca_file", "tls_require_and_verify_client_cert",
	"tls_disable_client_certs", "role", "require_request_header", "socket_mode", "socket_user", "socket_group",
	"agent_api", "mode", "enable_rotate", "allowed_hosts", "tls_cipher_suites"}, ignored: listenerIgnored}

// listenerDecodeSpec is listenerSpec with the ignored keys kept, so that
// checkListenerVaultKeys can check them as Vault Agent parses them.
var listenerDecodeSpec = spec{known: append(append([]string(nil), listenerSpec.known...), func() []string {
	var out []string
	for k := range listenerIgnored {
		out = append(out, k)
	}
	return out
}()...)}

func (d *decoder) decodeListener(parent *block, it *item) *Listener {
	b := parent.typedBody(it, "listener", listenerDecodeSpec)
	typ, ok := parent.typeOf(it, b, "listener")
	if !ok {
		return nil
	}
	typ = strings.ToLower(typ)
	l := &Listener{Type: typ, Range: it.pos}
	where := fmt.Sprintf("listener %q", typ)
	b.where = where
	for _, k := range []struct {
		name string
		dst  *string
	}{{"address", &l.Address}, {"tls_cert_file", &l.TLSCertFile}, {"tls_key_file", &l.TLSKeyFile},
		{"tls_min_version", &l.TLSMinVersion}, {"tls_max_version", &l.TLSMaxVersion}, {"tls_client_ca_file", &l.TLSClientCAFile},
		{"tls_cipher_suites", &l.TLSCipherSuites},
		{"role", &l.Role}, {"socket_mode", &l.SocketMode}, {"socket_user", &l.SocketUser}, {"socket_group", &l.SocketGroup}} {
		if a := b.one(k.name); a != nil {
			d.str(a, where, k.name, k.dst)
		}
	}
	for _, k := range []struct {
		name string
		dst  *bool
	}{{"tls_disable", &l.TLSDisable}, {"tls_require_and_verify_client_cert", &l.TLSRequireAndVerifyClientCert},
		{"tls_disable_client_certs", &l.TLSDisableClientCerts}, {"require_request_header", &l.RequireRequestHeader}} {
		if a := b.one(k.name); a != nil {
			d.looseBool(a, where, k.name, k.dst)
		}
	}
	if a := b.one("address"); a != nil {
		d.addressTemplate(a, where, l)
	}
	if a := b.one("mode"); a != nil {
		d.perms(a, where, "mode", &l.Mode)
	}
	if a := b.one("enable_rotate"); a != nil {
		d.strictBool(a, where, "enable_rotate", &l.EnableRotate)
	}
	if a := b.one("allowed_hosts"); a != nil {
		d.strList(a, where, "allowed_hosts", true, &l.AllowedHosts)
	}
	// Several agent_api blocks: HCL 1 decodes each into the same struct,
	// so a later enable_quit overrides an earlier one.
	aps := b.all("agent_api")
	if len(aps) > 1 {
		d.ds.warnf(aps[1].pos, "Repeated block", "%s: %d agent_api blocks: Vault Agent reads them in order, a later enable_quit overriding an earlier one; rotor does the same. Keep one.", where, len(aps))
	}
	for _, a := range aps {
		ab := b.body(a, where+" agent_api", spec{known: []string{"enable_quit"}})
		if q := ab.one("enable_quit"); q != nil {
			d.strictBool(q, ab.where, "enable_quit", &l.AgentAPIEnableQuit)
		}
	}
	switch l.Role {
	case "", "default", "metrics_only":
	default:
		d.ds.warnf(b.one("role").vpos, "Unknown role", "%s: role %q is neither \"default\" nor \"metrics_only\"; like Vault Agent, rotor treats it as \"default\".", where, l.Role)
	}
	d.checkListenerVaultKeys(b)
	d.checkListener(b, it, l)
	return l
}

// checkListener keeps rotor's listener rules. Those Vault Agent does not
// have (it would fail only when it starts listening) are warnings.
func (d *decoder) checkListener(b *block, it *item, l *Listener) {
	where := b.where
	at := it.pos
	if a := b.one("address"); a != nil {
		at = a.vpos
	}
	switch l.Type {
	case "tcp":
		if l.Address == "" {
			// Vault Agent's StartListener listens on its default address.
			l.Address = "127.0.0.1:8200"
			d.ds.warnf(it.pos, "Default address", "%s: no address: Vault Agent listens on 127.0.0.1:8200, and so does rotor. Write address = \"127.0.0.1:8200\" to say so.", where)
			break
		}
		host, _, err := net.SplitHostPort(l.Address)
		if err != nil {
			d.ds.warnf(at, "Invalid address", "%s: address %q is not host:port (an IPv6 host goes in brackets, \"[::1]:8200\"); the listener will fail to start.", where, l.Address)
			break
		}
		ip := net.ParseIP(host)
		loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
		if !loopback && l.TLSCertFile == "" {
			d.ds.warnf(at, "Insecure listener", "%s: %s is not a loopback address and has no TLS: anyone who can reach it can call it. Serve it with tls_cert_file and tls_key_file, or listen on 127.0.0.1.", where, l.Address)
		}
	case "unix":
		if l.Address == "" {
			// Vault Agent listens on "": Linux binds an unnamed abstract
			// socket no client can find.
			d.ds.warnf(it.pos, "Listener not started", "%s: no address: Vault Agent listens on an unnamed socket that no client can find by path; rotor does not start this listener. Set address to the socket's path.", where)
		}
		if l.TLSCertFile != "" {
			d.ds.warnf(b.one("tls_cert_file").pos, "TLS on a socket", "%s: a unix socket is protected by its mode; rotor serves it without TLS.", where)
		}
		d.socketSettings(b, l)
		if l.SocketMode != "" {
			var m = l.Mode
			if sm := b.one("socket_mode"); sm != nil {
				sub := &diags{}
				dd := &decoder{file: d.file, ds: sub}
				if dd.octalString(sm, where, "socket_mode", l.SocketMode, &m) {
					l.Mode = m
				} else {
					d.ds.warnf(sm.vpos, "Invalid socket_mode", "%s: socket_mode %q is not an octal mode; Vault Agent would fail to start the listener.", where, l.SocketMode)
				}
			}
		}
	default:
		d.ds.errorf(it.pos, "Unknown listener type", "listener %q: use \"tcp\" or \"unix\".", l.Type)
	}
	switch {
	case l.TLSDisable:
	case l.TLSCertFile != "" && l.TLSKeyFile == "" || l.TLSCertFile == "" && l.TLSKeyFile != "":
		d.ds.errorf(it.pos, "Conflicting options", "%s: tls_cert_file and tls_key_file must be set together.", where)
	case l.TLSCertFile == "":
		// Vault Agent serves TLS unless tls_disable is true, and fails to
		// start a listener that has no certificate (error loading TLS
		// cert); rotor serves it without TLS, as most such files mean.
		d.ds.warnf(it.pos, "TLS not disabled", "%s: no tls_disable = true and no tls_cert_file: Vault Agent would fail to start this listener (error loading TLS cert); rotor serves it without TLS. Add tls_disable = true, or tls_cert_file and tls_key_file.", where)
	}
	d.checkListenerTLS(b, it, l)
	if l.Mode == 0 {
		l.Mode = 0o660
	}
}

// checkListenerTLS refuses the TLS settings Vault's listener refuses at
// start, with its reasons, and warns about those it would not act on. No
// TLS setting is parsed and then dropped: the listener applies them all
// (ops.listenerTLS).
func (d *decoder) checkListenerTLS(b *block, it *item, l *Listener) {
	where := b.where
	at := func(key string) Pos {
		if a := b.one(key); a != nil {
			return a.vpos
		}
		return it.pos
	}
	if l.TLSDisable {
		// Vault Agent reads none of the TLS settings of a listener with
		// tls_disable = true: they are only warned about below.
		d.warnTLSUnused(b, l)
		return
	}
	versions := map[string]uint16{}
	for _, k := range []struct{ key, val string }{{"tls_min_version", l.TLSMinVersion}, {"tls_max_version", l.TLSMaxVersion}} {
		if k.val == "" {
			continue
		}
		v, ok := tlsconf.Version(k.val)
		if !ok {
			d.ds.errorf(at(k.key), "Invalid value", "%s: '%s' value %q not supported, please specify one of [tls10,tls11,tls12,tls13] (Vault Agent refuses it too).", where, k.key, k.val)
			continue
		}
		versions[k.key] = v
	}
	if lo, hi := versions["tls_min_version"], versions["tls_max_version"]; lo != 0 && hi != 0 && hi < lo {
		d.ds.errorf(at("tls_max_version"), "Invalid value", "%s: 'tls_max_version' must be greater than or equal to 'tls_min_version'.", where)
	}
	if l.TLSCipherSuites != "" {
		if _, err := tlsconf.CipherSuites(l.TLSCipherSuites); err != nil {
			d.ds.errorf(at("tls_cipher_suites"), "Invalid value", "%s: invalid value for 'tls_cipher_suites': %v.", where, err)
		}
	}
	if l.TLSRequireAndVerifyClientCert && l.TLSDisableClientCerts {
		d.ds.errorf(at("tls_disable_client_certs"), "Conflicting options", "%s: 'tls_disable_client_certs' and 'tls_require_and_verify_client_cert' are mutually exclusive.", where)
	}
	if l.TLSClientCAFile != "" && !l.TLSRequireAndVerifyClientCert {
		d.ds.warnf(at("tls_client_ca_file"), "Setting ignored", "%s: tls_client_ca_file is ignored: Vault Agent (and rotor) verify client certificates only with tls_require_and_verify_client_cert = true. Without it, a client with no certificate is served.", where)
	}
	d.warnTLSUnused(b, l)
}

// warnTLSUnused warns about the TLS settings of a listener that serves no
// TLS.
func (d *decoder) warnTLSUnused(b *block, l *Listener) {
	if !l.TLSDisable && l.TLSCertFile != "" {
		return
	}
	for _, k := range []string{"tls_min_version", "tls_max_version", "tls_cipher_suites", "tls_client_ca_file", "tls_require_and_verify_client_cert", "tls_disable_client_certs"} {
		if a := b.one(k); a != nil {
			d.ds.warnf(a.pos, "Setting ignored", "%s: %s has no effect: this listener serves no TLS.", b.where, k)
		}
	}
}

// useAutoAuthToken reads true/false (as parseutil.ParseBool) or "force".
func (d *decoder) useAutoAuthToken(b *block, use, force, set *bool) {
	a := b.one("use_auto_auth_token")
	if a == nil {
		return
	}
	*set = true
	if l, ok := d.lit(a); ok {
		if s, ok := tokValue(l.Token).(string); ok && strings.EqualFold(s, "force") {
			*use, *force = true, true
			return
		}
	}
	sub := &diags{}
	if (&decoder{file: d.file, ds: sub}).looseBool(a, b.where, "use_auto_auth_token", use) {
		return
	}
	d.ds.errorf(a.vpos, "Invalid value", "%s: use_auto_auth_token must be true, false or \"force\".", b.where)
}

var consistencySpec = []string{"use_auto_auth_token", "enforce_consistency", "when_inconsistent"}

var cacheSpec = spec{known: append(append([]string(nil), consistencySpec...), "persist")}
var apiProxySpec = spec{known: append(append([]string(nil), consistencySpec...), "use_client_cert")}

func (d *decoder) decodeCache(b *block, it *item) *Cache {
	c := &Cache{Range: it.pos}
	d.useAutoAuthToken(b, &c.UseAutoAuthToken, &c.ForceAutoAuthToken, &c.UseAutoAuthTokenSet)
	d.tstrVault(b, "enforce_consistency", &c.EnforceConsistency)
	d.tstrVault(b, "when_inconsistent", &c.WhenInconsistent)
	if ps := b.all("persist"); len(ps) > 0 {
		if len(ps) > 1 {
			d.ds.errorf(ps[1].pos, "Duplicate block", "cache: only one persist block is allowed; the first is at %s.", ps[0].pos)
		}
		c.Persist = d.decodePersist(b, ps[0])
	}
	if c.EnforceConsistency == "always" {
		d.ds.warnf(it.pos, "Consistency headers passed through", "cache: enforce_consistency = \"always\": Vault Agent tracks Vault Enterprise's X-Vault-Index headers for its clients; rotor passes them through without tracking them.")
	}
	return c
}

func (d *decoder) tstrVault(b *block, name string, dst *string) {
	if a := b.one(name); a != nil {
		d.str(a, b.where, name, dst)
	}
}

var persistSpec = spec{known: []string{"type", "path", "keep_after_import", "exit_on_err", "service_account_token_file"}}

func (d *decoder) decodePersist(parent *block, it *item) *Persist {
	b := parent.typedBody(it, "cache.persist", persistSpec)
	typ, ok := parent.typeOf(it, b, "persist")
	if !ok {
		return nil
	}
	p := &Persist{Type: strings.ToLower(typ), Range: it.pos}
	where := fmt.Sprintf("cache.persist %q", p.Type)
	b.where = where
	d.tstrVault(b, "path", &p.Path)
	d.tstrVault(b, "service_account_token_file", &p.ServiceAccountTokenFile)
	if a := b.one("keep_after_import"); a != nil {
		d.strictBool(a, where, "keep_after_import", &p.KeepAfterImport)
	}
	if a := b.one("exit_on_err"); a != nil {
		d.strictBool(a, where, "exit_on_err", &p.ExitOnErr)
	}
	return p
}

func (d *decoder) decodeAPIProxy(b *block, it *item) *APIProxy {
	p := &APIProxy{Range: it.pos}
	d.useAutoAuthToken(b, &p.UseAutoAuthToken, &p.ForceAutoAuthToken, &p.UseAutoAuthTokenSet)
	d.tstrVault(b, "enforce_consistency", &p.EnforceConsistency)
	d.tstrVault(b, "when_inconsistent", &p.WhenInconsistent)
	if a := b.one("use_client_cert"); a != nil {
		d.strictBool(a, b.where, "use_client_cert", &p.UseClientCert)
	}
	if p.EnforceConsistency == "always" {
		d.ds.warnf(it.pos, "Consistency headers passed through", "api_proxy: enforce_consistency = \"always\": Vault Agent tracks Vault Enterprise's X-Vault-Index headers for its clients; rotor passes them through without tracking them.")
	}
	return p
}

// validateProxyExposure says where rotor serves Vault's API differently
// from Vault Agent, which proxies /v1/ on every listener and sends its TLS
// client certificate with every proxied request. rotor proxies only when
// api_proxy or cache asks for it, and lends its certificate only with
// api_proxy { use_client_cert = true }: otherwise any client of the
// listener could log in as rotor (auth/cert/login).
func validateProxyExposure(cfg *Config, ds *diags) {
	proxying := cfg.APIProxy != nil || cfg.Cache != nil
	if !proxying {
		for _, l := range cfg.Listeners {
			// A listener using rotor's own keys was written for rotor,
			// which never proxied without asking: nothing to warn about.
			rotorOwn := l.EnableRotate || len(l.AllowedHosts) > 0
			if l.Role != "metrics_only" && !rotorOwn {
				ds.warnf(l.Range, "Vault API not proxied", "listener %q %s: Vault Agent also serves Vault's API (/v1/) on this listener; rotor does so only when an api_proxy {} or cache {} block asks for it. Add api_proxy {} to keep proxying.", l.Type, l.Address)
			}
		}
		return
	}
	if cfg.Vault.ClientCert != "" && (cfg.APIProxy == nil || !cfg.APIProxy.UseClientCert) {
		at := cfg.Vault.AddressRange
		if cfg.APIProxy != nil {
			at = cfg.APIProxy.Range
		} else if cfg.Cache != nil {
			at = cfg.Cache.Range
		}
		ds.warnf(at, "Client certificate not lent", "proxied requests go to Vault without rotor's TLS client certificate (vault { client_cert }); Vault Agent sends it, which lets any listener client log in as rotor with auth/cert/login. If Vault requires client certificates for every connection, set api_proxy { use_client_cert = true }.")
	}
}

// addrTemplate finds a go-sockaddr template in a listener address.
var addrTemplate = regexp.MustCompile(`{{.*?}}`)

// addressTemplate renders a listener address written as a go-sockaddr
// template ("{{ GetPrivateIP }}:8200"), as Vault Agent's loader does
// (configutil.ParseSingleIPTemplate): at load, on this machine. A template
// that does not parse, or that gives more than one address, is refused
// with Vault's reason; one that gives none leaves the address empty.
func (d *decoder) addressTemplate(a *item, where string, l *Listener) {
	if !addrTemplate.MatchString(l.Address) {
		return
	}
	out, err := sockaddrtemplate.Parse(l.Address)
	if err != nil {
		d.ds.errorf(a.vpos, "Invalid address template", "%s: unable to parse address template %q: %v.", where, l.Address, err)
		return
	}
	if ips := strings.Split(out, " "); len(ips) > 1 {
		d.ds.errorf(a.vpos, "Invalid address template", "%s: address template %q: multiple addresses found (%q), please configure one.", where, l.Address, out)
		return
	}
	l.Address = strings.TrimSpace(out)
}

// socketSettings keeps Vault Agent's rule for a unix socket: socket_mode,
// socket_user and socket_group are applied only when all three are set;
// one or two of them alone are ignored.
func (d *decoder) socketSettings(b *block, l *Listener) {
	keys := []struct {
		name string
		val  *string
	}{{"socket_mode", &l.SocketMode}, {"socket_user", &l.SocketUser}, {"socket_group", &l.SocketGroup}}
	n := 0
	for _, k := range keys {
		if *k.val != "" {
			n++
		}
	}
	if n == 0 || n == len(keys) {
		return
	}
	for _, k := range keys {
		if a := b.one(k.name); a != nil && *k.val != "" {
			d.ds.warnf(a.pos, "Setting ignored", "%s: %s is ignored: Vault Agent applies socket_mode, socket_user and socket_group only when all three are set; rotor does the same. Set all three (rotor's mode key sets the mode alone).", b.where, k.name)
		}
		*k.val = ""
	}
}
