pid_file = "/opt/agent/data/agent.pid"

vault {
  # address from the environment file of the service
}

auto_auth {
  method {
    type = "azure"
    namespace = "admin"
    config = {
      authenticate_from_environment = true
      role = "vm-role"
      resource = "https://management.azure.com/"
    }
  }

  sink {
    type = "file"
    wrap_ttl = "30m"
    config = {
      path = "/opt/agent/data/sink"
    }
  }
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

template_config {
  static_secret_render_interval = "10m"
}

template {
  source      = "/etc/agent/app-secret.ctmpl"
  destination = "/opt/agent/data/app-secret.txt"
}
