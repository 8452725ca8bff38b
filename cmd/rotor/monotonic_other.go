//go:build !linux && !darwin

package main

// monotonicUsec is unavailable here; systemd does not run here either.
func monotonicUsec() (int64, bool) { return 0, false }
