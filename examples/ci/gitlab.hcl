# rotor in a GitLab CI job: it logs in to Vault with the job's ID token
# (id_tokens in .gitlab-ci.yml), which the job writes to vault-id-token in
# its working directory; rotor reads it and removes it. No secret is
# stored in GitLab. Use with migrate.hcl: rotor exec -config gitlab.hcl
# -config migrate.hcl -- psql ... (see migrate.sh).
#
# Vault side, once: a jwt auth mount trusting GitLab, and a role bound to
# this project's protected branches (run.sh makes the same on a dev Vault):
#
#   vault auth enable -path=gitlab jwt
#   vault write auth/gitlab/config oidc_discovery_url=https://gitlab.example.com bound_issuer=https://gitlab.example.com
#   vault write auth/gitlab/role/myapp-migrate role_type=jwt user_claim=sub \
#     bound_audiences=https://vault.example.com \
#     bound_claims='{"project_path":"mygroup/myapp","ref_protected":"true"}' \
#     token_policies=myapp-migrate token_ttl=15m token_max_ttl=1h
vault {
  # VAULT_ADDR, set by the pipeline, wins over this.
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "jwt" {
    mount_path = "auth/gitlab"
    config = {
      path = "vault-id-token"
      role = "myapp-migrate"
    }
  }
}
