package main

import (
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/azure"
)

// azureMethod is Vault Agent's azure method: the instance metadata service
// at 169.254.169.254 (reached through HTTP_PROXY) and, with
// authenticate_from_environment, the Azure SDK's default credential chain
// (AZURE_* variables; login.microsoftonline.com through HTTPS_PROXY).
func azureMethod(c *auth.AuthConfig) (auth.AuthMethod, error) { return azure.NewAzureAuthMethod(c) }
