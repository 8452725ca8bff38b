# managed by configuration management

vault {
  address = "https://vault.example.internal:8200"
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "cert" {
    mount_path = "auth/node-cert"
    config {
      client_cert = "/opt/agent/tls/node-a.crt"
      client_key = "/opt/agent/tls/node-a.key"
      reload = true
    }
  }
}

api_proxy {
  use_auto_auth_token = "force"
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true # plain text on loopback
}
