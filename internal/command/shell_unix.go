//go:build !windows

package command

// shellPrefix runs a string command the way Vault Agent does on Unix.
var shellPrefix = []string{"/bin/sh", "-c"}
