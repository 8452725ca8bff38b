vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "token_file" {
    config = {
      token_file_path = "/etc/agent/token"
    }
  }
}

telemetry {
  prometheus_retention_time = "30s"
  disable_hostname          = true
}

listener "tcp" {
  address     = "127.0.0.1:8300"
  tls_disable = true
  role        = "metrics_only"
}

template {
  source      = "/etc/agent/app.ctmpl"
  destination = "/etc/app/app.conf"
}
