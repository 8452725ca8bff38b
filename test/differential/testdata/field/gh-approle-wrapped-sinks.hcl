pid_file = "./agent.pid"

auto_auth {
  mount_path = "auth/approle"
  method "approle" {
    config = {
      role_id_file_path                = "./role-id"
      secret_id_response_wrapping_path = "auth/approle/role/web/secret-id"
    }
  }

  sink {
    type     = "file"
    wrap_ttl = "15m"
    config = {
      path = "token-wrapped"
    }
  }

  sink {
    type = "file"
    config = {
      path = "token-plain"
    }
  }
}

vault {
  address = "https://127.0.0.1:8200"
}
