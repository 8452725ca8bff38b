package config

import (
	"net"
	"net/url"
	"strconv"
	"time"
)

// Confirm is rotor's `confirm {}` block in a template: how to check that
// the template's consumer uses the files just published (closed-loop
// rotation). Vault Agent refuses the key, so a configuration using it is
// rotor's. Exactly one of TLS, HTTP and Command is set.
type Confirm struct {
	// TLS is host:port; the served leaf certificate must be the one just
	// rendered. ServerName is the SNI sent (default: TLS's host).
	TLS, ServerName string
	// HTTP is an http:// or https:// URL that must answer 2xx.
	HTTP string
	// Command must exit 0 (run like a reload command).
	Command Command
	// Timeout is how long the consumer has to take the new files (default
	// 60s); Interval the wait between checks (default 2s).
	Timeout, Interval time.Duration
	// Reloads is how many times the reload command runs again within the
	// timeout while the consumer is not confirmed (default 2: at 1/3 and
	// 2/3 of it).
	Reloads int
	// RestartExec restarts the exec child at the last of those points.
	RestartExec bool
	Range       Pos
}

// Defaults of a confirm block.
const (
	DefaultConfirmTimeout  = 60 * time.Second
	DefaultConfirmInterval = 2 * time.Second
	DefaultConfirmReloads  = 2
	maxConfirmReloads      = 10
)

var confirmSpec = spec{strict: true, known: []string{"tls", "server_name", "http", "command", "timeout", "interval",
	"reloads", "restart_exec"}}

// decodeConfirm reads a template's confirm block (the last one counts,
// with a warning, as for wait and exec) and checks it on its own.
func (d *decoder) decodeConfirm(b *block, t *Template) {
	cs := b.all("confirm")
	if len(cs) == 0 {
		return
	}
	it := cs[len(cs)-1]
	if len(cs) > 1 {
		d.ds.warnf(it.pos, "Repeated block", "template: %d confirm blocks; the last one is used.", len(cs))
	}
	const w = "template.confirm"
	cb := b.body(it, w, confirmSpec)
	c := &Confirm{Range: it.pos, Timeout: DefaultConfirmTimeout, Interval: DefaultConfirmInterval, Reloads: DefaultConfirmReloads}
	t.Confirm = c
	if a := cb.one("tls"); a != nil && d.mapStr(a, w, "tls", &c.TLS) {
		if host, port, err := net.SplitHostPort(c.TLS); err != nil || host == "" || !validPort(port) {
			d.ds.errorf(a.vpos, "Invalid value", "%s: tls = %q is not host:port, e.g. \"127.0.0.1:443\".", w, c.TLS)
		}
	}
	if a := cb.one("server_name"); a != nil && d.mapStr(a, w, "server_name", &c.ServerName) && !cb.has("tls") {
		d.ds.errorf(a.pos, "Conflicting options", "%s: server_name is the SNI of the tls check; set tls too.", w)
	}
	if a := cb.one("http"); a != nil && d.mapStr(a, w, "http", &c.HTTP) {
		if u, err := url.Parse(c.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.ds.errorf(a.vpos, "Invalid value", "%s: http must be an http:// or https:// URL with a host, e.g. \"http://127.0.0.1:8080/healthz\".", w)
		}
	}
	if a := cb.one("command"); a != nil {
		d.command(a, w, "command", &c.Command)
	}
	checks := 0
	for _, k := range []string{"tls", "http", "command"} {
		if cb.has(k) {
			checks++
		}
	}
	if checks != 1 {
		d.ds.errorf(it.pos, "Conflicting options", "%s: set exactly one check: tls (an address whose certificate must be the new one), http (a URL that must answer 2xx) or command (must exit 0).", w)
	}
	if a := cb.one("timeout"); a != nil && d.duration(a, w, "timeout", &c.Timeout) && c.Timeout <= 0 {
		d.ds.errorf(a.vpos, "Invalid value", "%s: timeout must be above 0, e.g. \"60s\".", w)
	}
	if a := cb.one("interval"); a != nil && d.duration(a, w, "interval", &c.Interval) {
		switch {
		case c.Interval < 100*time.Millisecond:
			d.ds.errorf(a.vpos, "Invalid value", "%s: interval %s is below 100ms, e.g. \"2s\".", w, c.Interval)
		case c.Timeout > 0 && c.Interval >= c.Timeout:
			d.ds.errorf(a.vpos, "Invalid value", "%s: interval %s is not shorter than timeout %s: the consumer would be checked once at most.", w, c.Interval, c.Timeout)
		}
	}
	if a := cb.one("reloads"); a != nil && d.strictInt(a, w, "reloads", &c.Reloads) && (c.Reloads < 0 || c.Reloads > maxConfirmReloads) {
		d.ds.errorf(a.vpos, "Invalid value", "%s: reloads must be 0 to %d (the reload command's extra runs within the timeout).", w, maxConfirmReloads)
	}
	if a := cb.one("restart_exec"); a != nil && d.strictBool(a, w, "restart_exec", &c.RestartExec) && c.RestartExec && c.Reloads == 0 {
		d.ds.errorf(a.vpos, "Conflicting options", "%s: restart_exec restarts the exec child at the last of the reloads; with reloads = 0 there is none.", w)
	}
	if checks != 1 {
		t.Confirm = nil // reported above
	}
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

// validateConfirm is the cross-block rule: restart_exec needs an exec
// block.
func validateConfirm(cfg *Config, ds *diags) {
	for _, t := range cfg.Templates {
		if t.Confirm != nil && t.Confirm.RestartExec && cfg.Exec == nil {
			ds.errorf(t.Confirm.Range, "Missing exec", "template.confirm: restart_exec = true, but there is no exec block whose child could be restarted.")
		}
	}
}
