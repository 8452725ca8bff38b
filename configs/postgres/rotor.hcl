# rotor for an app that reads PostgreSQL credentials from an env file.
# Vault's database engine creates a PostgreSQL user per lease; rotor renews
# the lease, fetches a new user before the lease's max TTL ends, rewrites
# the env file and tells the app to read it again.
#
# Install:
#   /etc/rotor/rotor.hcl               this file
#   /etc/rotor/templates/db.env.tpl    configs/postgres/db.env.tpl
# Check: rotor validate -config /etc/rotor/rotor.hcl
#
# Vault side (once):
#   vault secrets enable database
#   vault write database/config/myapp plugin_name=postgresql-database-plugin \
#       connection_url='postgresql://{{username}}:{{password}}@db.internal.example.com:5432/myapp' \
#       username=vault password=... allowed_roles=myapp-readonly
#   vault write database/roles/myapp-readonly db_name=myapp default_ttl=1h max_ttl=24h \
#       creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";"
#   and a policy for rotor's AppRole with: path "database/creds/myapp-readonly" { capabilities = ["read"] }

pid_file = "/run/rotor/rotor.pid" # for `rotor rotate`: a new database user now

vault {
  address = "https://vault.example.com:8200"
  ca_cert = "/etc/rotor/vault-ca.pem" # drop this line if Vault's certificate is publicly trusted
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "approle" {
    mount_path  = "auth/approle"
    min_backoff = "1s"
    max_backoff = "2m"
    config = {
      role_id_file_path                   = "/etc/rotor/role_id"
      secret_id_file_path                 = "/etc/rotor/secret_id"
      remove_secret_id_file_after_reading = false
    }
  }
}

template {
  source      = "/etc/rotor/templates/db.env.tpl"
  # rotor writes a temp file next to the destination and renames it, so it
  # needs write access to the directory. Create it at boot, shared through
  # the myapp group (/etc/tmpfiles.d/myapp.conf):
  #   d /run/myapp 0770 myapp myapp -
  # and, under configs/systemd/rotor.service, add ReadWritePaths=/run/myapp.
  destination = "/run/myapp/db.env"
  # The app runs as user myapp: give the file to its group. rotor's user
  # must be in that group (usermod -aG myapp rotor); no other privilege is
  # needed to set a group one belongs to. `rotor validate` checks that the
  # group exists, so create it first.
  perms                = "0640"
  group                = "myapp"
  error_on_missing_key = true # a renamed field fails loudly instead of writing PGUSER=

  # Runs after the file has a new user and password, never when the content
  # is unchanged. A string runs through /bin/sh -c. Signalling the app needs
  # rotor to run as the app's user (a drop-in with User=myapp) or as root.
  #
  # This suits an app that reads db.env itself and reads it again on SIGHUP.
  # An app that takes the variables from its environment (systemd
  # EnvironmentFile=/run/myapp/db.env, docker --env-file) sees new ones only
  # when restarted; use instead
  #   command = ["systemctl", "try-restart", "myapp"]
  # with a polkit rule for rotor's user (see configs/systemd/rotor.service).
  # Either way the old user keeps working until its lease ends, so in-flight
  # queries finish.
  command         = "kill -HUP \"$(cat /run/myapp/myapp.pid)\""
  command_timeout = "10s"
}

template_config {
  # Fetch the next user at 90% of the remaining life once the lease stops
  # renewing (max_ttl reached), so the app has time to switch before Vault
  # drops the old user.
  lease_renewal_threshold = 0.9
}
