pid_file = "/tmp/agent.pid"

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "/app/role_id"
      secret_id_file_path = "/app/secret_id"
    }
  }

  sink "file" {
    config = {
      path = "/tmp/agent-token"
    }
  }
}

vault {
  address = "${VAULT_ADDR}"
}

cache {
  use_auto_auth_token = true
}

# an empty template, so that the cache is used
template {
  destination = "/dev/null"
  contents    = ""
}
