pid_file = "/run/agent-pid"

auto_auth {
  method "AppRole" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "/usr/local/etc/agent/.role-id"
      secret_id_file_path = "/usr/local/etc/agent/.secret-id"
      remove_secret_id_file_after_reading = "false"
    }
  }
}
sink "file" {
  config = {
    path = /etc/storage/agent.token
  }
}

vault {
  address = "https://vault.example.internal:8200"
}
