vault {
  address = "https://vault.example.com:8200"
  retry {
    num_retries = 3
  }
}
auto_auth {
  method "gcp" {
    mount_path = "auth/gcp-project"
    config = {
      type = "gce"
      role = "gce-role"
    }
  }
  sink "file" {
    config = {
      path = "/tokens/agent-token"
      mode = 0644
    }
  }
}
cache {
  use_auth_auth_token = true
}
listener "tcp" {
  address     = "127.0.0.1:8100"
  tls_disable = true
}
