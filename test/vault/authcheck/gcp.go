package main

import (
	"github.com/hashicorp/vault/command/agentproxyshared/auth"
	"github.com/hashicorp/vault/command/agentproxyshared/auth/gcp"
)

// gcpMethod is Vault Agent's gcp method. Type gce reads
// http://metadata/computeMetadata/... (reached through HTTP_PROXY); type iam
// finds Google credentials (config, GOOGLE_CREDENTIALS, ~/.gcp/credentials,
// application default credentials with GCE_METADATA_HOST) and calls
// iamcredentials.googleapis.com (through HTTPS_PROXY, trusting SSL_CERT_FILE).
func gcpMethod(c *auth.AuthConfig) (auth.AuthMethod, error) { return gcp.NewGCPAuthMethod(c) }
