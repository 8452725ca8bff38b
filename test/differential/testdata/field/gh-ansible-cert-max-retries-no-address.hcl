# managed by configuration management

vault {
  # the address comes from the environment file of the unit
  retry {
    # a large number, as there is no setting for unlimited retries
    num_retries = 2147483647
  }
}

auto_auth {
  method "cert" {
    mount_path = "auth/ca-cert"
    config {
      client_cert = "/opt/agent/tls/agent.crt"
      client_key = "/opt/agent/tls/agent.key"
      reload = true
    }
  }
}

api_proxy {
  use_auto_auth_token = "force"
}

listener "tcp" {
  // later: a unix socket under /run
  address = "127.0.0.1:8100"
  tls_disable = true # plain text on loopback
}
