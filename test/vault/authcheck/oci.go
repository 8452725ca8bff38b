package main

import "github.com/hashicorp/vault/command/agentproxyshared/auth/oci"

func init() {
	// Vault Agent passes its Vault address: the oci method signs it.
	methods["oci"] = oci.NewOCIAuthMethod
}
