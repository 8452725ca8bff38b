# What a migration job gets from Vault: a PostgreSQL user of the article's
# migration role, for psql as PGUSER and PGPASSWORD. rotor exec revokes the
# lease (Vault drops the user) and its own token when the command exits.
#
# Vault side, once: the role (run.sh makes it on a dev Vault) and a policy
#
#   path "database/creds/myapp-migrate" { capabilities = ["read"] }
#   path "sys/leases/revoke"            { capabilities = ["update"] }
#
# The role's user joins myapp_owner, a NOLOGIN role that owns the schema's
# tables: the migration runs SET ROLE myapp_owner, so what it creates
# outlives the user, and the revocation can drop the user.
env_template "PGUSER" {
  contents = "{{ with secret \"database/creds/myapp-migrate\" }}{{ .Data.username }}{{ end }}"
}

env_template "PGPASSWORD" {
  contents = "{{ with secret \"database/creds/myapp-migrate\" }}{{ .Data.password }}{{ end }}"
}
