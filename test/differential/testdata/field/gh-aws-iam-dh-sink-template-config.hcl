pid_file = "./pidfile"

log_file = "/var/log/agent.log"

vault {
  address = "https://10.0.5.20:8200"
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "aws" {
    mount_path = "auth/aws-sub"
    config = {
      type = "iam"
      role = "web"
    }
  }

  sink "file" {
    config = {
      path = "/tmp/token-plain"
    }
  }

  sink "file" {
    wrap_ttl = "5m"
    aad_env_var = "AGENT_AAD"
    dh_type = "curve25519"
    dh_path = "/tmp/dh-pub"
    config = {
      path = "/tmp/token-wrapped"
    }
  }
}

cache {
  // an empty block turns caching on
}

template_config {
  static_secret_render_interval = "10m"
  exit_on_retry_failure = true
  max_connections_per_host = 20
}

template {
  source = "/etc/agent/server.key.ctmpl"
  destination = "/etc/agent/server.key"
}

template {
  source = "/etc/agent/server.crt.ctmpl"
  destination = "/etc/agent/server.crt"
}
