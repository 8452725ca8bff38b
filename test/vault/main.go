// Command vault is the Vault server used by rotor's integration tests and benchmarks.
// It is built from the published github.com/hashicorp/vault module at v1.21.0.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() { os.Exit(command.Run(os.Args[1:])) }
