vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "/etc/agent/role-id"
      secret_id_file_path = "/etc/agent/secret-id"
    }
  }
}

sink "file" {
  config = {
    path = "/run/agent/token"
  }
}
