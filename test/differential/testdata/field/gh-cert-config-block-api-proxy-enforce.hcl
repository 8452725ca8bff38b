# pid_file = "./pidfile"

log_file = "/var/log/agent/agent.log"

vault {
  address = "https://vault.example.internal:8200"
  client_cert = "/opt/agent/tls/client.crt"
  client_key = "/opt/agent/tls/client.key"
  tls_skip_verify = true
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "cert" {
    config {
      name = "edge-nodes"
      ca_cert = "/opt/agent/tls/ca.pem"
      client_cert = "/opt/agent/tls/client.crt"
      client_key = "/opt/agent/tls/client.key"
    }
  }

  sink "file" {
    config {
      path = "/opt/agent/tls/token"
    }
  }
}

api_proxy {
  use_auto_auth_token = "force"
  enforce_consistency = "always"
}

# cache {
# }

listener "tcp" {
   address     = "127.0.0.1:8200"
   tls_cert_file = "/opt/agent/tls/client.crt"
   tls_key_file  = "/opt/agent/tls/client.key"
}

template_config {
}

template {
  source      = "/var/tmp/agent/secrets.json.tmpl"
  destination = "/var/tmp/secrets.json"
}
