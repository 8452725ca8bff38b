auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      vault_addr          = "https://vault.example.com:8200"
      role_id_file_path   = "/etc/agent/role-id"
      secret_id_file_path = "/etc/agent/secret-id"
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}
