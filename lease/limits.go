package lease

import "time"

// Bounds of one Vault request. A request that hangs holds one of the
// store's request slots until its timeout, so these bound how long a
// hanging Vault path can take a slot from the others.
const (
	// MinRequestTimeout is the least a request gets: a healthy Vault
	// answers in milliseconds, a distant one in well under a second.
	MinRequestTimeout = time.Second
	// MinFetchTimeout is the least a fetch gets: a new secret is worth
	// having even after the old one ended, and issuing one (creating a
	// database user, signing a certificate) takes longer than a renewal.
	MinFetchTimeout = 10 * time.Second
	// MaxRequestTimeout caps every request (the Vault client's default).
	MaxRequestTimeout = time.Minute
)

// RequestTimeout is how long one attempt at act may take for a secret
// whose Deadline is deadline (zero: none), starting at now. It is pure.
//
// A renewal gets half the time the lease has left (at least
// MinRequestTimeout, at most MaxRequestTimeout, and never past the
// lease's end, after which renewing is pointless): if it hangs, it is
// abandoned with half the time still left to fetch a new secret. Zero
// means the lease has ended: fetch instead. A fetch gets the time left,
// between MinFetchTimeout and MaxRequestTimeout.
func RequestTimeout(act Op, now, deadline time.Time) time.Duration {
	if deadline.IsZero() {
		return MaxRequestTimeout
	}
	left := deadline.Sub(now)
	if act == OpRenew {
		if left <= 0 {
			return 0
		}
		return min(max(left/2, MinRequestTimeout), MaxRequestTimeout, left)
	}
	return min(max(left, MinFetchTimeout), MaxRequestTimeout)
}

// minRetry is the shortest wait between two attempts for one secret.
const minRetry = 500 * time.Millisecond

// RetryIn is how long to wait before trying again after a transient
// failure: d from the secret's backoff, at least what the server asked
// (retryAfter, zero if nothing), and, while the secret is still usable,
// at most half of the time it has left, so that several attempts fit
// before it ends (never under minRetry). It is pure.
func RetryIn(d, retryAfter time.Duration, now, deadline time.Time) time.Duration {
	if left := deadline.Sub(now); !deadline.IsZero() && left > 0 && d > left/2 {
		d = max(left/2, minRetry)
	}
	return max(d, retryAfter)
}
