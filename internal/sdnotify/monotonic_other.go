//go:build !linux

package sdnotify

import "errors"

// monotonicUsec fails off Linux: systemd, the only reader of the value,
// runs only there.
func monotonicUsec() (int64, error) {
	return 0, errors.New("CLOCK_MONOTONIC is not available on this platform")
}
