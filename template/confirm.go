package template

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rotorproject/rotor/internal/command"
	"github.com/rotorproject/rotor/internal/redact"
)

// Confirm says how rotor checks, after a publish and its reload command,
// that the template's consumer uses what was just written (template
// confirm {}). Exactly one of TLS, HTTP and Command is set.
type Confirm struct {
	// TLS is a host:port whose served leaf certificate must be the one
	// just rendered (found among the group's files). ServerName is the
	// SNI sent (default: TLS's host).
	TLS, ServerName string
	// HTTP is a URL that must answer 2xx.
	HTTP string
	// Command must exit 0. It runs like a reload command: the same
	// environment, its output redacted and logged only at debug level.
	Command command.Command
	// Timeout is how long the consumer has to take the new files before
	// the publish is reported unconfirmed (0: DefaultConfirmTimeout);
	// Interval is the wait between failed checks (0:
	// DefaultConfirmInterval).
	Timeout, Interval time.Duration
	// Reloads is how many times the reload command runs again, spread
	// evenly over Timeout, while the consumer is not confirmed (the
	// configuration's default is 2; 0 here is none).
	Reloads int
	// RestartExec restarts the exec child at the last of those points.
	RestartExec bool
}

// Defaults of a confirm block.
const (
	DefaultConfirmTimeout  = 60 * time.Second
	DefaultConfirmInterval = 2 * time.Second
	// confirmAttemptTimeout bounds one check (a connection, a request, a
	// command).
	confirmAttemptTimeout = 10 * time.Second
	// confirmMaxInterval is the slowest re-check once the timeout passed.
	confirmMaxInterval = time.Minute
)

// Why a check failed: the class the status and /readyz show (never the
// text, which may quote what a command printed).
const (
	// ConfirmOldCertificate: the address serves another certificate
	// than the one just rendered (the consumer did not reload it).
	ConfirmOldCertificate = "old_certificate"
	// ConfirmUnreachable: no connection, handshake or answer.
	ConfirmUnreachable = "unreachable"
	// ConfirmCheckFailed: the command exited non-zero, or the URL did
	// not answer 2xx.
	ConfirmCheckFailed = "check_failed"
	// ConfirmNoCertificate: a tls check, but no file of the group holds
	// a certificate to compare with.
	ConfirmNoCertificate = "no_certificate"
	// ConfirmReloadPending: the reload command has not succeeded since
	// the publish, so nothing was checked yet.
	ConfirmReloadPending = "reload_pending"
)

// confirmError is a failed check: its class and its (redacted) text.
type confirmError struct {
	class, msg string
}

func (e *confirmError) Error() string { return e.msg }

func confirmFail(class, format string, args ...any) *confirmError {
	return &confirmError{class: class, msg: fmt.Sprintf(format, args...)}
}

// probe is one check, with everything it needs copied from the runner:
// it runs in a goroutine of its own.
type probe struct {
	c       Confirm
	want    []byte // tls: the rendered leaf certificate (DER); nil: none found
	env     []string
	secrets *redact.Set
}

// run performs the check once.
func (p probe) run(ctx context.Context) *confirmError {
	ctx, cancel := context.WithTimeout(ctx, min(p.c.Timeout, confirmAttemptTimeout))
	defer cancel()
	switch {
	case p.c.TLS != "":
		return p.tls(ctx)
	case p.c.HTTP != "":
		return p.http(ctx)
	}
	res := runCommand(ctx, p.c.Command, confirmAttemptTimeout, p.env, p.secrets)
	if res.err == nil {
		return nil
	}
	e := confirmFail(ConfirmCheckFailed, "check command: %v", res.err)
	if res.exitCode > 0 {
		e.msg = "check command exited " + strconv.Itoa(res.exitCode)
	}
	if res.output != "" {
		e.msg += ": " + lastLines(res.output)
	}
	return e
}

// tls connects to the address and compares the served leaf with the
// rendered one, byte for byte. The chain is not verified: this is a
// comparison with a certificate rotor just wrote, not a trust decision,
// and nothing is sent over the connection.
func (p probe) tls(ctx context.Context) *confirmError {
	if p.want == nil {
		return confirmFail(ConfirmNoCertificate, "no certificate among the files of the template's group to compare with what %s serves", p.c.TLS)
	}
	sni := p.c.ServerName
	if sni == "" {
		sni, _, _ = net.SplitHostPort(p.c.TLS)
	}
	d := tls.Dialer{Config: &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // compared below, never trusted
	conn, err := d.DialContext(ctx, "tcp", p.c.TLS)
	if err != nil {
		return confirmFail(ConfirmUnreachable, "tls %s: %v", p.c.TLS, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return confirmFail(ConfirmUnreachable, "tls %s: no certificate served", p.c.TLS)
	}
	if bytes.Equal(certs[0].Raw, p.want) {
		return nil
	}
	return confirmFail(ConfirmOldCertificate, "%s (server name %q) serves certificate serial %s, not the rendered %s", p.c.TLS, sni,
		certs[0].SerialNumber.Text(16), serialOf(p.want))
}

func serialOf(der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "(unparsable)"
	}
	return c.SerialNumber.Text(16)
}

// http asks the URL and wants a 2xx answer. Its address is logged
// without query or credentials.
func (p probe) http(ctx context.Context) *confirmError {
	where := p.c.HTTP
	if u, err := url.Parse(p.c.HTTP); err == nil {
		where = u.Scheme + "://" + u.Host + u.Path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.c.HTTP, nil)
	if err != nil {
		return confirmFail(ConfirmCheckFailed, "http %s: %v", where, err)
	}
	// A client per check: no connection is kept, so each check reaches
	// the consumer as it is now (a kept connection may be to a process
	// that has been replaced since).
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := c.Do(req)
	if err != nil {
		return confirmFail(ConfirmUnreachable, "http %s: %v", where, redactURLError(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return confirmFail(ConfirmCheckFailed, "http %s answered %d", where, resp.StatusCode)
	}
	return nil
}

// redactURLError drops the URL from a client error (it may carry a query
// with a credential); the cause stays.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// leafIn returns the first certificate (DER) in a PEM file: a server's
// leaf, before its chain.
func leafIn(b []byte) []byte {
	for len(b) > 0 {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil
		}
		if blk.Type == "CERTIFICATE" {
			return blk.Bytes
		}
	}
	return nil
}
