# connection to the server
vault {
  address = "https://vault.example.internal:8200"
  ca_cert = "/etc/agent/ca.pem"
  ca_path = "/etc/agent/ca-bundle/"
  client_cert = "/etc/agent/client.pem"
  client_key = "/etc/agent/client-key.pem"
  tls_skip_verify = false
  tls_server_name = "vault.example.internal"

  retry {
    num_retries = 5
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    namespace  = "team"

    config = {
      role_id_file_path = "/etc/agent/role-id"
      secret_id_file_path = "/etc/agent/secret-id"
    }
  }

  sink "file" {
    config = {
      path = "/var/run/agent/token"
      mode = 0640
    }
  }

  sink "file" {
    wrap_ttl = "5m"
    aad_env_var = "AGENT_AAD"
    dh_type = "curve25519"
    dh_path = "/etc/agent/dh-pub"

    config = {
      path = "/var/run/agent/encrypted-token"
    }
  }
}

api_proxy {
  use_auto_auth_token = true
}

listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true

  tls_cert_file = "/etc/agent/agent-cert.pem"
  tls_key_file = "/etc/agent/agent-key.pem"

  require_request_header = true

  agent_api {
    enable_quit = true
  }
}

listener "unix" {
  address = "/var/run/agent.sock"
  tls_disable = true
  socket_mode = "0660"
  socket_user = "app"
  socket_group = "app"
}

template {
  source = "/etc/app/config.ctmpl"
  destination = "/etc/app/config.conf"
  perms = "0600"
  user = "app"
  group = "app"
  backup = true
  command = "systemctl reload app"
  command_timeout = "30s"
  wait {
    min = "5s"
    max = "10s"
  }
  error_on_missing_key = true
  create_dest_dirs = true
}

template_config {
  exit_on_retry_failure = false
  static_secret_render_interval = "5m"
}

pid_file = "/var/run/agent.pid"

log_level = "info"
log_file = "/var/log/agent.log"
log_format = "json"
log_rotate_duration = "24h"
log_rotate_bytes = 104857600  # 100MB
log_rotate_max_files = 10
