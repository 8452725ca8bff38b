// Command rotor is a sidecar agent for short-lived Vault credentials.
//
// This package owns flags, subcommands, signals and exit codes; everything
// else lives in the libraries it calls.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // runtime failure, or an invalid configuration
	exitUsage  = 2 // unknown command or flag
)

const usage = `Usage: rotor <command> [flags]

Commands:
  agent     run the agent: log in, keep token and leases alive, render templates
  exec      run one command with secrets in its environment, then revoke them
  rotate    make a running agent fetch new secrets now (after a suspected leak)
  reload    make a running agent read its configuration again (as SIGHUP)
  status    show what a running agent holds, when it renews, what fails
  health    check a running agent's health (exit 0 when healthy; -ready for readiness)
  validate  check configuration files and print every problem
  injector  rotor's Kubernetes injector: the admission webhook (serve) and its offline form (render)
  version   print the version, commit, commit date and Go version

Run "rotor <command> -h" for the flags of a command.
`

func main() {
	// Installed as "vault" (the vault-k8s image variant), rotor answers
	// the Vault CLI commands the Vault Agent injector runs (vaultcli.go).
	if invokedAsVault(os.Args[0]) {
		os.Exit(runVault(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "agent":
		// Under the Windows service manager, its stop request ends the
		// agent (service_windows.go); elsewhere this is a plain call.
		return asService(func(ctx context.Context) int { return cmdAgent(ctx, args[1:], stderr) })
	case "exec":
		return cmdExec(args[1:], stderr)
	case "rotate":
		return cmdRotate(args[1:], stdout, stderr)
	case "reload":
		return cmdReload(args[1:], stdout, stderr)
	case "status":
		return cmdStatus(args[1:], stdout, stderr)
	case "health":
		return cmdHealth(args[1:], stdout, stderr)
	case "injector":
		return cmdInjector(args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprint(stdout, versionText(version, readBuildInfo()))
		return exitOK
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "rotor: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// parse parses flags, mapping -h to success and errors to exitUsage.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}
