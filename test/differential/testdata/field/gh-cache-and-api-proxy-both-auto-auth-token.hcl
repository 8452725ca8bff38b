# /etc/agent/proxy.hcl
vault { address = "https://vault.example.internal:8200" }

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/etc/agent/proxy-role-id"
      secret_id_file_path = "/etc/agent/proxy-secret-id"
      remove_secret_id_file_after_reading = false
    }
  }
}

listener "unix" {
  address = "/run/agent/proxy.sock"
  mode = "0600"
}

cache { use_auto_auth_token = true }
api_proxy { use_auto_auth_token = true }
