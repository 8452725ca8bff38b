package main

import (
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/kerberos"
)

func init() {
	methods["kerberos"] = func(conf *auth.AuthConfig, _ string) (auth.AuthMethod, error) {
		return kerberos.NewKerberosAuthMethod(conf)
	}
}
