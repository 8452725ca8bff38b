exit_after_auth = true

vault {
  address = "https://vault.example.internal:8200"
}

auto_auth {
  method {
    type       = "kubernetes"
    mount_path = "auth/cluster-a"
    namespace  = "team-a"
    config {
      role = "signer"
    }
  }
}

api_proxy {
  use_auto_auth_token = "force"
}

listener "tcp" {
  address     = "127.0.0.1:8210"
  tls_disable = true
}
