pid_file = "/agent/config/pid"

vault {
  ca_cert = "/agent/certs/ca.crt"
  client_cert = "/agent/certs/client.crt"
  client_key = "/agent/certs/client.key"
  retry {
    num_retries = 2
  }
}

auto_auth {
  method "cert" {
    name = "localhost"
    ca_cert = "/agent/certs/ca.crt"
    client_cert = "/agent/certs/client.crt"
    client_key = "/agent/certs/client.key"
  }

  sink "file" {
    config = {
      path = "/agent/config/token.txt"
    }
  }
}

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address = "localhost:8100"
  tls_disable = true
}
