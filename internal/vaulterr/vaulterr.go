// Package vaulterr is rotor's one classification of Vault errors: every
// failed request is sorted once, by type, into a Class that travels with
// the error (an *Error) to what its caller does (retry soon, log in again,
// wait long, or stop) and to what operators see in status, metrics and
// logs. Clients prepared here leave the retrying to that caller.
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

// Class is what a failed request means for its caller and for operators.
// Its String is the name status, metrics and logs show.
type Class int

// Classes. Transient reports the ones retried within seconds, Permanent
// the ones retried every few minutes.
const (
	// None is the class of a nil error.
	None Class = iota
	// Unavailable: Vault or the network is down, slow or sealed
	// (connection refused or reset, timeouts, 5xx, 408, 412). It passes by
	// itself: back off briefly and retry.
	Unavailable
	// RateLimited: Vault answered 429 (a rate-limit quota, or a standby's
	// health). Retry no sooner than its Retry-After.
	RateLimited
	// Denied: Vault answered 403 (or 401). Either the token lacks the
	// policy, or the token is dead (BadToken); only asking Vault about the
	// token itself (lookup-self) tells which, and callers that can ask do.
	// A denial that stays Denied is permanent: someone must change a policy
	// or the credentials.
	Denied
	// BadToken: Vault rejects rotor's token itself. Log in again.
	BadToken
	// NotFound: Vault has nothing at the path (404, a deleted KV version,
	// no such lease).
	NotFound
	// InvalidRequest: Vault refuses the request as made (400, 405 and other
	// 4xx): a wrong parameter, an expired or used wrapping token, a role
	// that does not exist. Asking again changes nothing.
	InvalidRequest
	// TooLarge: Vault's answer is over rotor's size limit. The same path
	// answers the same way again.
	TooLarge
	// Config: rotor's own settings cannot work with the server (its
	// certificate does not verify, TLS spoken to a plain HTTP server).
	// Fail fast at start.
	Config
	// NoToken: rotor holds no Vault token yet; the request waits for the
	// first login.
	NoToken
	// Credentials: a login failed before it reached Vault, because rotor
	// could not read the machine's own identity: a credential file, a
	// cloud metadata service or token endpoint, a KDC. Not Vault's
	// failure; the login backoff retries it.
	Credentials
	// Canceled: the caller's own context was cancelled (shutdown). Not a
	// Vault failure; do nothing.
	Canceled
)

var names = [...]string{
	None:           "none",
	Unavailable:    "vault_unavailable",
	RateLimited:    "rate_limited",
	Denied:         "vault_denied",
	BadToken:       "bad_token",
	NotFound:       "secret_not_found",
	InvalidRequest: "invalid_request",
	TooLarge:       "too_large",
	Config:         "config",
	NoToken:        "not_authenticated",
	Credentials:    "credentials_unavailable",
	Canceled:       "canceled",
}

// String names the class as status, metrics and logs show it.
func (c Class) String() string {
	if c < 0 || int(c) >= len(names) {
		return "error"
	}
	return names[c]
}

// Transient reports whether c passes by itself: retry within seconds.
func (c Class) Transient() bool { return c == Unavailable || c == RateLimited }

// Permanent reports whether c repeats until someone changes Vault or
// rotor's credentials: retry every few minutes, keep other work going.
func (c Class) Permanent() bool {
	return c == Denied || c == NotFound || c == InvalidRequest || c == TooLarge
}

// Error is a classified failure: the class travels with the error, so
// whoever wraps, logs, redacts or reports it reads the class by type
// (errors.As, Classify), never from its text. Err is the failure itself.
type Error struct {
	Class Class
	// RetryAfter is how long the server asked the caller to wait (0: it
	// did not say).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of class c reading text, for failures rotor finds
// itself (no secret at a path, no token yet).
func New(c Class, text string) error { return &Error{Class: c, Err: errors.New(text)} }

// Wrap returns err classified: as is when it carries its class already,
// else wrapped in an *Error with Classify's verdict. Nil stays nil.
func Wrap(err error) error {
	var e *Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return &Error{Class: classify(err), Err: err}
}

// WithClass returns err with class c: what a caller learnt after the
// request (a 403 whose token turned out dead is BadToken). The server's
// Retry-After is kept.
func WithClass(err error, c Class) error {
	if err == nil {
		return nil
	}
	ra, _ := RetryAfter(err)
	return &Error{Class: c, RetryAfter: ra, Err: err}
}

// Redact returns an error reading text, err's message with its secrets
// removed, that keeps err's class and Retry-After and nothing else of err
// (its wrapped errors could still hold the secret). An error without a
// class gives a plain error.
func Redact(err error, text string) error {
	var e *Error
	if errors.As(err, &e) {
		ra, _ := RetryAfter(err)
		return &Error{Class: e.Class, RetryAfter: ra, Err: errors.New(text)}
	}
	return errors.New(text)
}

// Find returns the class err carries, if it carries one (an *Error in its
// chain). Unlike Classify it does not guess: an error that did not come
// from a Vault request has none.
func Find(err error) (Class, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Class, true
	}
	return None, false
}

// Classify returns err's class: the one it carries (Find), or else its
// type's. Unknown errors count as Unavailable: retrying them with backoff
// is safe, giving up on them is not. A request that ran out of its own
// time (context.DeadlineExceeded) is Unavailable too: a hung request is a
// slow server, not a wrong one.
func Classify(err error) Class {
	if c, ok := Find(err); ok {
		return c
	}
	return classify(err)
}

// classify sorts err by the types of its chain.
func classify(err error) Class {
	if err == nil {
		return None
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	if errors.Is(err, vaultclient.ErrResponseTooLarge) {
		return TooLarge
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
	return Unavailable
}

func byStatus(code int) Class {
	switch {
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return Denied
	case code == http.StatusNotFound:
		return NotFound
	case code == http.StatusTooManyRequests:
		return RateLimited
	case code == http.StatusRequestTimeout, code == http.StatusPreconditionFailed, code >= 500:
		// 412: a performance standby has not caught up with a write yet.
		return Unavailable
	}
	// 400 bad request, 405 method not allowed, and every other 4xx:
	// asking again changes nothing.
	return InvalidRequest
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
// Prepare, and a function that classifies the error of such a request (an
// *Error) with the Retry-After the server sent, if any, for RetryAfter to
// read.
func Track(ctx context.Context) (context.Context, func(error) error) {
	h := &hint{}
	return context.WithValue(ctx, hintKey{}, h), func(err error) error {
		if err == nil {
			return nil
		}
		h.mu.Lock()
		d := h.d
		h.mu.Unlock()
		return &Error{Class: Classify(err), RetryAfter: d, Err: err}
	}
}

// RetryAfter returns how long the server asked the caller to wait.
func RetryAfter(err error) (time.Duration, bool) {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.RetryAfter > 0 {
			return e.RetryAfter, true
		}
		err = e.Err
	}
	return 0, false
}
