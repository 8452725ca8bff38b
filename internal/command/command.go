// Package command is the one description of a command rotor runs: a
// template's reload command and the supervised child share it. A command is
// either an argv list, run without a shell, or a string, run through the
// platform's shell as Vault Agent does.
package command

import (
	"context"
	"os/exec"
	"runtime"
	"slices"
	"strings"
)

// Command is a command to run. Exactly one of Argv and Shell is set; the
// zero value is "no command".
type Command struct {
	Argv  []string // run directly, no shell
	Shell string   // run through the shell (see Resolve)
}

// IsZero reports whether no command is set.
func (c Command) IsZero() bool { return len(c.Argv) == 0 && c.Shell == "" }

// Equal reports whether c and o run the same thing.
func (c Command) Equal(o Command) bool {
	return c.Shell == o.Shell && slices.Equal(c.Argv, o.Argv)
}

// Key is a string identity for grouping: templates whose commands have the
// same key share one reload.
func (c Command) Key() string {
	if c.Shell != "" {
		return "sh:" + c.Shell
	}
	return "argv:" + strings.Join(c.Argv, "\x00")
}

// String shows the command as configured (for logs and status).
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}

// Resolve returns the argv to execute: Argv as is, or Shell wrapped in the
// platform's shell invocation (/bin/sh -c on Unix, cmd.exe /S /C on
// Windows; see shellArgv).
func (c Command) Resolve() []string {
	if c.Shell != "" {
		return shellArgv(runtime.GOOS, c.Shell)
	}
	return c.Argv
}

// Exec returns an *exec.Cmd that runs c (Resolve's argv; on Windows a
// string command gets its command line as written, see windowsCmdLine).
// The caller sets its environment, I/O and process attributes, keeping
// SysProcAttr if set.
func (c Command) Exec(ctx context.Context) *exec.Cmd {
	argv := c.Resolve()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	setCmdLine(cmd, c)
	return cmd
}

// Environ returns base without the variables named in drop: the
// environment rotor hands to the commands it runs, minus the variables it
// read credentials from (VAULT_TOKEN, the state key), which a child must
// not inherit by accident.
func Environ(base []string, drop ...string) []string {
	out := make([]string, 0, len(base))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(drop, name) {
			out = append(out, kv)
		}
	}
	return out
}
