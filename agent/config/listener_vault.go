package config

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/token"
)

// Listener keys of Vault's shared configuration that rotor does not act on
// (listenerIgnored) are still parsed by Vault Agent, which refuses the file
// when one has the wrong type or value (configutil's parseListener): a
// duration that does not parse, an address list with a name in it, an
// unknown proxy_protocol_behavior. rotor gives the same verdict at the
// value, and warns that it ignores the key.

var (
	listenerVaultInts      = map[string]bool{"max_request_size": false, "x_forwarded_for_hop_skips": true, "max_json_depth": true, "max_json_string_value_length": true, "max_json_object_entry_count": true, "max_json_array_element_count": true, "max_json_token": true} // true: must not be negative
	listenerVaultDurations = map[string]bool{"max_request_duration": true, "http_read_timeout": false, "http_read_header_timeout": false, "http_write_timeout": false, "http_idle_timeout": false}
	listenerVaultBools     = []string{"x_forwarded_for_reject_not_present", "x_forwarded_for_reject_not_authorized", "cors_enabled",
		"redact_addresses", "redact_cluster_name", "redact_version", "disable_replication_status_endpoints", "disable_request_limiter"}
	listenerVaultStrings = []string{"cluster_address", "proxy_protocol_behavior", "x_forwarded_for_client_cert_header", "x_forwarded_for_client_cert_header_decoders"}
	listenerVaultAddrs   = []string{"proxy_protocol_authorized_addrs", "x_forwarded_for_authorized_addrs"}
	listenerVaultLists   = []string{"cors_allowed_origins", "cors_allowed_headers"}
	listenerVaultBlocks  = map[string]string{"telemetry": "unauthenticated_metrics_access", "profiling": "unauthenticated_pprof_access", "inflight_requests_logging": "unauthenticated_in_flight_requests_access"}
)

// checkListenerVaultKeys checks the listener keys rotor ignores as Vault
// Agent parses them, and warns that rotor ignores each one present.
func (d *decoder) checkListenerVaultKeys(b *block) {
	where := b.where
	keys := make([]string, 0, len(listenerIgnored))
	for k := range listenerIgnored {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if a := b.one(k); a != nil {
			d.ds.warnf(a.pos, "Ignored by rotor", "%s: %s: %s; rotor ignores it.", where, k, listenerIgnored[k])
		}
	}
	for k, nonNeg := range listenerVaultInts {
		if a := b.one(k); a != nil {
			d.parseutilInt(a, where, k, nonNeg)
		}
	}
	for k, nonNeg := range listenerVaultDurations {
		if a := b.one(k); a != nil {
			d.signedDuration(a, where, k, false)
			if l, ok := d.lit(a); ok && nonNeg && strings.HasPrefix(strings.TrimSpace(litText(l)), "-") {
				d.ds.errorf(a.vpos, "Invalid value", "%s: %s cannot be negative.", where, k)
			}
		}
	}
	for _, k := range listenerVaultBools {
		if a := b.one(k); a != nil {
			var v bool
			d.looseBool(a, where, k, &v)
		}
	}
	for _, k := range listenerVaultStrings {
		if a := b.one(k); a != nil {
			var s string
			if d.str(a, where, k, &s) && k == "proxy_protocol_behavior" {
				switch s {
				case "", "use_always", "allow_authorized", "deny_unauthorized":
				default:
					d.ds.errorf(a.vpos, "Invalid value", "%s: unsupported value supplied for proxy_protocol_behavior: %q; use \"use_always\", \"allow_authorized\" or \"deny_unauthorized\".", where, s)
				}
			}
		}
	}
	for _, k := range listenerVaultAddrs {
		if a := b.one(k); a != nil {
			d.sockAddrs(a, where, k)
		}
	}
	for _, k := range listenerVaultLists {
		if a := b.one(k); a != nil {
			var l []string
			if d.strList(a, where, k, false, &l) && k == "cors_allowed_origins" && len(l) > 1 && contains(l, "*") {
				d.ds.errorf(a.vpos, "Invalid value", "%s: cors_allowed_origins must only contain a wildcard or only non-wildcard values.", where)
			}
		}
	}
	if a := b.one("chroot_namespace"); a != nil {
		if _, ok := a.val.(*ast.LiteralType); !ok {
			d.typeErr(a, where, "chroot_namespace", "a string")
		}
	}
	for k, inner := range listenerVaultBlocks {
		if a := b.one(k); a != nil {
			ib := b.body(a, where+" "+k, spec{known: []string{inner}})
			if v := ib.one(inner); v != nil {
				var x bool
				d.looseBool(v, ib.where, inner, &x)
			}
		}
	}
}

// litText is a literal's value as written: a string's contents, a number's
// text.
func litText(l *ast.LiteralType) string {
	if s, ok := tokValue(l.Token).(string); ok && (l.Token.Type == token.STRING || l.Token.Type == token.HEREDOC) {
		return s
	}
	return l.Token.Text
}

// parseutilInt checks a value as parseutil.ParseInt reads it: an integer,
// or a string holding one in base 10 ("" is 0).
func (d *decoder) parseutilInt(it *item, where, name string, nonNeg bool) {
	l, ok := d.lit(it)
	var n int64
	var err error
	switch {
	case ok && l.Token.Type == token.NUMBER:
		n, err = strconv.ParseInt(l.Token.Text, 0, 64)
	case ok && l.Token.Type == token.STRING:
		if s, _ := tokValue(l.Token).(string); s != "" {
			n, err = strconv.ParseInt(s, 10, 64)
		}
	default:
		d.typeErr(it, where, name, "a whole number")
		return
	}
	switch {
	case err != nil:
		d.typeErr(it, where, name, "a whole number")
	case nonNeg && n < 0:
		d.ds.errorf(it.vpos, "Invalid value", "%s: %s cannot be negative.", where, name)
	}
}

// sockAddrs checks an address list as parseutil.ParseAddrs reads it: a
// comma-separated string or a list of strings, each an IP address, a CIDR
// block or a socket path.
func (d *decoder) sockAddrs(it *item, where, name string) {
	var addrs []string
	switch v := it.val.(type) {
	case *ast.LiteralType:
		if v.Token.Type != token.STRING && v.Token.Type != token.HEREDOC {
			d.typeErr(it, where, name, `addresses, as "10.0.0.0/8,127.0.0.1" or ["10.0.0.0/8"]`)
			return
		}
		s, _ := tokValue(v.Token).(string)
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			d.ds.errorf(it.vpos, "Invalid value", "%s: %s: no address in %q.", where, name, s)
			return
		}
	case *ast.ListType:
		for _, n := range v.List {
			l, ok := n.(*ast.LiteralType)
			if !ok || (l.Token.Type != token.STRING && l.Token.Type != token.HEREDOC) {
				d.typeErr(it, where, name, `a list of address strings`)
				return
			}
			s, _ := tokValue(l.Token).(string)
			addrs = append(addrs, s)
		}
	default:
		d.typeErr(it, where, name, `addresses, as "10.0.0.0/8,127.0.0.1" or ["10.0.0.0/8"]`)
		return
	}
	for _, a := range addrs {
		if !sockAddr(a) {
			d.ds.errorf(it.vpos, "Invalid value", "%s: %s: %q is not an IP address, a CIDR block or a socket path (Vault Agent refuses it too).", where, name, a)
		}
	}
}

// sockAddr approximates go-sockaddr's NewSockAddr: an IP address, with a
// port or a prefix length, or a path (it starts with . or /, or has a /).
func sockAddr(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if _, _, err := net.ParseCIDR(s); err == nil {
		return true
	}
	if h, _, err := net.SplitHostPort(s); err == nil && net.ParseIP(h) != nil {
		return true
	}
	return len(s) > 1 && (s[0] == '.' || s[0] == '/' || strings.Contains(s, "/"))
}
