//go:build windows

package command

// shellPrefix runs a string command through cmd.exe: there is no /bin/sh.
var shellPrefix = []string{"cmd.exe", "/C"}
