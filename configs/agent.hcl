# A starting point for a VM or sidecar: AppRole login, one token sink.
# Check it with: rotor validate -config configs/agent.hcl
vault {
  address = "https://vault.example.com:8200"
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/etc/rotor/role_id"
      secret_id_file_path = "/etc/rotor/secret_id"
    }
  }

  sink "file" {
    config = {
      path = "/run/rotor/token"
      mode = "0640"
    }
  }
}
