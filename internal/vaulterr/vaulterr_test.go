package vaulterr

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/rotorproject/rotor/internal/vaultclient"
)

func TestClassify(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("read x: %w", &api.ResponseError{StatusCode: code, Errors: []string{"x"}})
	}
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "https://vault:8200/v1/x", Err: err} }
	// auth wraps a failed unwrap of AppRole's wrapped secret_id under
	// its own sentinel; the Vault answer stays in the chain.
	errCredentials := errors.New("credentials")
	cases := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, None},
		{"400 bad request", status(400), InvalidRequest},
		{"AppRole unwrap 400", fmt.Errorf("%w: unwrap the secret_id: %w", errCredentials,
			&api.ResponseError{HTTPMethod: "PUT", URL: "https://vault:8200/v1/sys/wrapping/unwrap", StatusCode: 400,
				Errors: []string{"wrapping token is not valid or does not exist"}}), InvalidRequest},
		{"401", status(401), Denied},
		{"403", status(403), Denied},
		{"404 no secret", status(404), NotFound},
		{"405 method", status(405), InvalidRequest},
		{"408", status(408), Unavailable},
		{"412 standby behind", status(412), Unavailable},
		{"429 rate limit", status(429), RateLimited},
		{"500", status(500), Unavailable},
		{"503 sealed", status(503), Unavailable},
		{"connection refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), Unavailable},
		{"connection reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), Unavailable},
		{"server closed", urlErr(io.EOF), Unavailable},
		{"our timeout", urlErr(context.DeadlineExceeded), Unavailable},
		{"our shutdown", urlErr(context.Canceled), Canceled},
		{"unknown CA", urlErr(x509.UnknownAuthorityError{}), Config},
		{"wrong host name", urlErr(x509.HostnameError{Host: "vault"}), Config},
		{"unknown", errors.New("something odd"), Unavailable},
		{"answer over the size limit", fmt.Errorf("read: %w", vaultclient.ErrResponseTooLarge), TooLarge},
		{"no secret found by rotor", fmt.Errorf("kv/x: %w", New(NotFound, "no secret at this path")), NotFound},
		{"no token yet", fmt.Errorf("kv/x: %w", New(NoToken, "no Vault token yet")), NoToken},
		// A class learnt after the request wins over the answer's.
		{"403 of a dead token", fmt.Errorf("kv/x: %w", WithClass(status(403), BadToken)), BadToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Classify(c.err); got != c.want {
				t.Fatalf("Classify = %v, want %v", got, c.want)
			}
			if c.err == nil {
				return
			}
			// Classified once, the class travels by type: through
			// wrapping, and through redaction that rewrites every word
			// of the text.
			wrapped := fmt.Errorf("template x: %w", Wrap(c.err))
			redacted := Redact(wrapped, "[redacted]")
			for _, err := range []error{wrapped, redacted} {
				got, ok := Find(err)
				if !ok || got != c.want {
					t.Fatalf("Find(%q) = %v %v, want %v", err, got, ok, c.want)
				}
			}
			if redacted.Error() != "[redacted]" || errors.Unwrap(redacted).Error() != "[redacted]" {
				t.Fatalf("redacted error keeps text: %q", errors.Unwrap(redacted))
			}
		})
	}
}

// Every class has a name, and the names status, metrics and logs show
// are the taxonomy's; each class is retried soon, slowly, or handled
// otherwise, never two of these.
func TestClassNames(t *testing.T) {
	want := map[Class]string{None: "none", Unavailable: "vault_unavailable", RateLimited: "rate_limited",
		Denied: "vault_denied", BadToken: "bad_token", NotFound: "secret_not_found", InvalidRequest: "invalid_request",
		TooLarge: "too_large", Config: "config", NoToken: "not_authenticated", Credentials: "credentials_unavailable", Canceled: "canceled"}
	for c := None; c <= Canceled; c++ {
		if c.String() != want[c] {
			t.Errorf("class %d is %q, want %q", c, c, want[c])
		}
		if c.Transient() && c.Permanent() {
			t.Errorf("%v is both transient and permanent", c)
		}
	}
	if Class(99).String() != "error" {
		t.Error("an unknown class must still have a name")
	}
	for c, transient := range map[Class]bool{Unavailable: true, RateLimited: true, Denied: false, BadToken: false} {
		if c.Transient() != transient {
			t.Errorf("%v: Transient() = %v", c, !transient)
		}
	}
	for c, permanent := range map[Class]bool{Denied: true, NotFound: true, InvalidRequest: true, TooLarge: true,
		BadToken: false, Config: false, Unavailable: false} {
		if c.Permanent() != permanent {
			t.Errorf("%v: Permanent() = %v", c, !permanent)
		}
	}
}

// An error that never met a Vault request carries no class: Find does
// not guess, Redact gives plain text.
func TestFindDoesNotGuess(t *testing.T) {
	err := errors.New("write /etc/x: permission denied")
	if c, ok := Find(err); ok {
		t.Fatalf("Find = %v", c)
	}
	if _, ok := Find(Redact(err, "x")); ok {
		t.Fatal("Redact invented a class")
	}
}

// rt is an in-memory Vault answering every request with one status.
type rt struct {
	n          atomic.Int32
	code       int
	retryAfter string
}

func (f *rt) RoundTrip(r *http.Request) (*http.Response, error) {
	f.n.Add(1)
	h := http.Header{"Content-Type": {"application/json"}}
	if f.retryAfter != "" {
		h.Set("Retry-After", f.retryAfter)
	}
	return &http.Response{StatusCode: f.code, Header: h, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"errors":["busy"]}`))}, nil
}

func client(t *testing.T, f http.RoundTripper) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = "http://vault.test"
	cfg.HttpClient = &http.Client{Transport: f}
	cfg.MaxRetries = 12
	cfg.MinRetryWait, cfg.MaxRetryWait = time.Millisecond, time.Millisecond
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken("t")
	return c
}

// A prepared client sends a failing request once, whatever
// num_retries says, and reports the server's Retry-After.
func TestPreparedClientDoesNotRetryAndKeepsRetryAfter(t *testing.T) {
	f := &rt{code: 429, retryAfter: "7"}
	c := client(t, f)
	Prepare(c)
	ctx, annotate := Track(t.Context())
	_, err := c.Logical().ReadWithContext(ctx, "secret/x")
	err = annotate(err)
	if n := f.n.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	if Classify(err) != RateLimited {
		t.Fatalf("class %v", Classify(err))
	}
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Fatalf("Retry-After %v %v", d, ok)
	}
	// What the caller learns later, and redaction, keep the Retry-After.
	for _, e := range []error{WithClass(err, Denied), Redact(fmt.Errorf("x: %w", err), "x")} {
		if d, ok := RetryAfter(e); !ok || d != 7*time.Second {
			t.Fatalf("Retry-After %v %v after %q", d, ok, e)
		}
	}
	// An unprepared client retries on its own: the layer Prepare removes.
	g := &rt{code: 503}
	if _, err := client(t, g).Logical().Read("secret/x"); err == nil || g.n.Load() != 13 {
		t.Fatalf("unprepared client: %d requests, err %v", g.n.Load(), err)
	}
}

func TestNoRetryAfterWithoutHeader(t *testing.T) {
	c := client(t, &rt{code: 404})
	Prepare(c)
	ctx, annotate := Track(t.Context())
	// (A read turns 404 into a nil secret; a write does not.)
	_, err := c.Logical().WriteWithContext(ctx, "secret/x", nil)
	err = annotate(err)
	if _, ok := RetryAfter(err); ok {
		t.Fatal("a Retry-After out of nothing")
	}
	if Classify(err) != NotFound {
		t.Fatalf("class %v", Classify(err))
	}
}
