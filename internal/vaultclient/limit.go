package vaultclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// DefaultMaxResponseBytes bounds a Vault response body unless
// Options.MaxResponseBytes says otherwise: generous for large KV secrets
// and PKI bundles, small enough that a broken or hostile server (or a
// proxy in between) cannot exhaust rotor's memory. The API client reads
// whole bodies, twice over in places.
const DefaultMaxResponseBytes = 32 << 20

// ErrResponseTooLarge is wrapped by the error of a request whose response
// body exceeds the limit.
var ErrResponseTooLarge = errors.New("vault response body too large")

// limited is a transport whose response bodies fail once they exceed max
// bytes (decompressed). The failure is a read error, not a RoundTrip
// error, so the client's retry policy does not fetch the same huge answer
// again.
type limited struct {
	next http.RoundTripper
	max  int64
}

func (l *limited) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	b := &limitedBody{rc: resp.Body, left: l.max}
	b.tooLarge = fmt.Errorf("%w: the answer to %s %s is larger than %d bytes", ErrResponseTooLarge, r.Method, r.URL.Path, l.max)
	if resp.ContentLength > l.max {
		b.err = b.tooLarge // announced too large: read nothing
	}
	resp.Body = b
	return resp, nil
}

// limitedBody reads at most left bytes of rc, then fails with tooLarge if
// there is more.
type limitedBody struct {
	rc       io.ReadCloser
	left     int64
	err      error
	tooLarge error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		// The limit is reached: one more byte means the body is too
		// large, none means it ended exactly there.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			b.err = b.tooLarge
			return 0, b.err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
