# rotor in a GitHub Actions job: it logs in to Vault with the job's OIDC
# token (permissions: id-token: write), which the workflow fetches into
# vault-id-token in the working directory; rotor reads it and removes it.
# No secret is stored in GitHub. Use with migrate.hcl (see migrate.sh).
#
# Vault side, once (run.sh makes the same on a dev Vault):
#
#   vault auth enable -path=github jwt
#   vault write auth/github/config oidc_discovery_url=https://token.actions.githubusercontent.com bound_issuer=https://token.actions.githubusercontent.com
#   vault write auth/github/role/myapp-migrate role_type=jwt user_claim=sub \
#     bound_audiences=https://vault.example.com \
#     bound_claims='{"repository":"myorg/myapp","ref":"refs/heads/main"}' \
#     token_policies=myapp-migrate token_ttl=15m token_max_ttl=1h
vault {
  # VAULT_ADDR, set by the workflow, wins over this.
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "jwt" {
    mount_path = "auth/github"
    config = {
      path = "vault-id-token"
      role = "myapp-migrate"
    }
  }
}
