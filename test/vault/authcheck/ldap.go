package main

import (
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/ldap"
)

func init() {
	methods["ldap"] = func(conf *auth.AuthConfig, _ string) (auth.AuthMethod, error) {
		return ldap.NewLdapAuthMethod(conf)
	}
}
