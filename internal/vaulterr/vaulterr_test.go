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
	cases := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, None},
		{"400 bad request", status(400), Permanent},
		{"401", status(401), Denied},
		{"403", status(403), Denied},
		{"404 no secret", status(404), Permanent},
		{"405 method", status(405), Permanent},
		{"408", status(408), Transient},
		{"412 standby behind", status(412), Transient},
		{"429 rate limit", status(429), Transient},
		{"500", status(500), Transient},
		{"503 sealed", status(503), Transient},
		{"connection refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), Transient},
		{"connection reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), Transient},
		{"server closed", urlErr(io.EOF), Transient},
		{"our timeout", urlErr(context.DeadlineExceeded), Transient},
		{"our shutdown", urlErr(context.Canceled), Canceled},
		{"unknown CA", urlErr(x509.UnknownAuthorityError{}), Config},
		{"wrong host name", urlErr(x509.HostnameError{Host: "vault"}), Config},
		{"unknown", errors.New("something odd"), Transient},
		{"answer over the size limit", fmt.Errorf("read: %w", vaultclient.ErrResponseTooLarge), Permanent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Classify(c.err); got != c.want {
				t.Fatalf("Classify = %v, want %v", got, c.want)
			}
		})
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
	if Classify(err) != Transient {
		t.Fatalf("class %v", Classify(err))
	}
	if d, ok := RetryAfter(err); !ok || d != 7*time.Second {
		t.Fatalf("Retry-After %v %v", d, ok)
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
	if Classify(err) != Permanent {
		t.Fatalf("class %v", Classify(err))
	}
}
