pid_file = "/home/vault/agent.pid"

vault {
  address = "${VAULT_ADDR}"
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/agent/config/role_id"
      secret_id_file_path = "/agent/config/secret_id"
      remove_secret_id_file_after_read = false
    }
  }

  sink "file" {
    config = {
      path = "/agent/secrets/token"
    }
  }
}

# fetch a fresh secret ID over the one the agent reads
template {
  # the template text, written where a file name belongs
  source      = " {{ with secret \"auth/approle/role/worker/secret-id\" }} {{ .Data.secret_id }} {{ end }} "

  destination = "/agent/config/secret_id"
}
