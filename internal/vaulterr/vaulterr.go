// Package vaulterr is rotor's one classification of Vault errors: every
// failed request is sorted once, by type, into what its caller should do
// (retry soon, log in again, wait long, or stop), and clients prepared here
// leave the retrying to that caller.
package vaulterr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rotorproject/rotor/internal/vaultclient"
)

// Class is what a failed request means for its caller.
type Class int

// Classes, from the cheapest to retry to the hardest.
const (
	// None is the class of a nil error.
	None Class = iota
	// Transient failures pass by themselves: Vault or the network is
	// down, slow or busy (connection refused or reset, timeouts, 5xx, 412,
	// 429). Back off briefly and retry, honouring Retry-After.
	Transient
	// Denied is a 403 (or 401): either the token is dead (BadToken) or it
	// lacks the policy (Permanent). Only asking Vault about the token
	// itself (lookup-self) tells which; callers resolve it.
	Denied
	// BadToken: Vault rejects the token itself. Log in again.
	BadToken
	// Permanent failures repeat until someone changes Vault: a bad
	// request, a missing path or mount, a method not allowed, a policy
	// that denies a live token. Back off long; keep other work going.
	Permanent
	// Config: rotor's own settings cannot work (the server's certificate
	// does not verify, TLS spoken to a plain HTTP server). Fail fast.
	Config
	// Canceled: the caller's own context was cancelled (shutdown). Not a
	// Vault failure; do nothing.
	Canceled
)

// String names the class as logs and /v1/status show it.
func (c Class) String() string {
	return [...]string{"none", "transient", "denied", "bad_token", "permanent", "config", "canceled"}[c]
}

// Classify sorts err. Unknown errors count as Transient: retrying them
// with backoff is safe, giving up on them is not. A request that ran out
// of its own time (context.DeadlineExceeded) is Transient too: a hung
// request is a slow server, not a wrong one.
func Classify(err error) Class {
	if err == nil {
		return None
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Transient
	}
	if errors.Is(err, vaultclient.ErrResponseTooLarge) {
		return Permanent // the same path answers the same way again
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		return byStatus(re.StatusCode)
	}
	if isConfig(err) {
		return Config
	}
	// Everything else is the network or the server failing: refused or
	// reset connections, a server closing mid-answer, DNS (all net.Error
	// or io.EOF), which is how a restarting Vault shows.
	return Transient
}

func byStatus(code int) Class {
	switch {
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return Denied
	case code == http.StatusRequestTimeout, code == http.StatusPreconditionFailed,
		code == http.StatusTooManyRequests, code >= 500:
		// 412: a performance standby has not caught up with a write yet.
		// 429: a rate-limit quota (with Retry-After) or a standby's health.
		return Transient
	}
	// 400 bad request, 404 no such path or lease, 405 method not
	// allowed, and every other 4xx: asking again changes nothing.
	return Permanent
}

// isConfig reports the TLS failures that mean rotor's vault block does
// not match the server: they will not pass by themselves.
func isConfig(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
	)
	return errors.As(err, &verr) || errors.As(err, &uae) || errors.As(err, &he) ||
		errors.As(err, &cie) || errors.As(err, &rhe)
}

// Prepare makes c a client whose caller owns retries: the client's own
// retries (vault.retry.num_retries) are turned off, so a failing request
// is tried once and the caller's backoff decides when to try again (two
// retry layers would multiply each other into storms). Its requests
// record the server's Retry-After for Track. Call it before c is shared.
func Prepare(c *api.Client) {
	c.SetMaxRetries(0)
	c.SetCheckRetry(func(ctx context.Context, resp *http.Response, _ error) (bool, error) {
		if h, ok := ctx.Value(hintKey{}).(*hint); ok && resp != nil {
			h.record(resp)
		}
		// Never retry here; (false, nil) also keeps the answer as is, so
		// the client turns it into an *api.ResponseError.
		return false, nil
	})
}

type hintKey struct{}

type hint struct {
	mu sync.Mutex
	d  time.Duration
}

// maxRetryAfter bounds what a server may ask for.
const maxRetryAfter = 10 * time.Minute

func (h *hint) record(resp *http.Response) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	h.mu.Lock()
	h.d = min(max(d, 0), maxRetryAfter)
	h.mu.Unlock()
}

// Track returns a context for requests made with a client set up by
// Prepare, and a function that attaches the Retry-After the server sent
// (if any) to the error of such a request, for RetryAfter to read.
func Track(ctx context.Context) (context.Context, func(error) error) {
	h := &hint{}
	return context.WithValue(ctx, hintKey{}, h), func(err error) error {
		h.mu.Lock()
		d := h.d
		h.mu.Unlock()
		if err == nil || d <= 0 {
			return err
		}
		return &retryAfterError{err: err, d: d}
	}
}

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter returns how long the server asked the caller to wait.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.d, true
	}
	return 0, false
}
