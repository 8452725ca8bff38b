package main

import (
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/alicloud"
)

// alicloudMethod is Vault Agent's alicloud method. Its constructor finds
// credentials at once (ALICLOUD_* variables, the config map, the ECS
// metadata service at 100.100.100.200 through HTTP_PROXY); Authenticate
// signs an sts GetCallerIdentity request without sending it.
func alicloudMethod(c *auth.AuthConfig) (auth.AuthMethod, error) {
	return alicloud.NewAliCloudAuthMethod(c)
}
