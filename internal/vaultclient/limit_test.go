package vaultclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// bigSecret serves a KV answer whose value is n bytes long, with or
// without a Content-Length, and counts the bytes it managed to send.
func bigSecret(t *testing.T, n int, chunked bool) (*httptest.Server, *atomic.Int64) {
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		head, tail := `{"data":{"v":"`, `"}}`
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(head)+n+len(tail)))
		}
		w.Write([]byte(head))
		chunk := []byte(strings.Repeat("x", 64<<10))
		for left := n; left > 0; left -= len(chunk) {
			if left < len(chunk) {
				chunk = chunk[:left]
			}
			if _, err := w.Write(chunk); err != nil {
				return // the client gave up
			}
			sent.Add(int64(len(chunk)))
		}
		w.Write([]byte(tail))
	}))
	t.Cleanup(srv.Close)
	return srv, &sent
}

// A response body over the limit fails the request with a clear error
// instead of being read whole: the API client buffers bodies twice, so a
// hostile or broken server could exhaust rotor's memory.
func TestHugeResponseBodyFails(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		// Without a Content-Length the body is 64 MiB: loopback socket
		// buffers can take several MiB that the client never reads, so
		// a smaller body could be sent whole however early it stops.
		n := 4 << 20
		if chunked {
			n = 64 << 20
		}
		srv, sent := bigSecret(t, n, chunked)
		c, err := New(Config{Address: srv.URL}, Options{MaxResponseBytes: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Logical().Read("secret/big")
		if !errors.Is(err, ErrResponseTooLarge) || !strings.Contains(err.Error(), "/v1/secret/big") {
			t.Fatalf("chunked=%v: got %v, want ErrResponseTooLarge naming the path", chunked, err)
		}
		if chunked && sent.Load() >= 32<<20 {
			t.Errorf("the body was read past the limit: %d of %d bytes sent", sent.Load(), n)
		}
	}
	// Under the limit, the answer is read as usual.
	srv, _ := bigSecret(t, 512<<10, true)
	c, _ := New(Config{Address: srv.URL}, Options{MaxResponseBytes: 1 << 20})
	if s, err := c.Logical().Read("secret/ok"); err != nil || len(s.Data["v"].(string)) != 512<<10 {
		t.Fatalf("a body under the limit: %v", err)
	}
}

// Without an option the limit is DefaultMaxResponseBytes (32 MiB).
func TestDefaultResponseLimit(t *testing.T) {
	srv, _ := bigSecret(t, DefaultMaxResponseBytes+1, true)
	c, err := New(Config{Address: srv.URL}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Read("secret/big"); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("got %v, want ErrResponseTooLarge", err)
	}
}

// A Vault address's password never reaches a log line.
func TestRedactedAddress(t *testing.T) {
	if got := RedactedAddress("https://user:hunter2-password@vault.example:8200"); strings.Contains(got, "hunter2") || !strings.Contains(got, "vault.example:8200") {
		t.Fatalf("RedactedAddress = %q", got)
	}
	if got := RedactedAddress("https://user:hunter2%zz@x"); strings.Contains(got, "hunter2") {
		t.Fatalf("an address that does not parse: %q", got)
	}
}
