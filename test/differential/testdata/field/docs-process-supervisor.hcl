pid_file = "/run/agent/agent.pid"

vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "/etc/agent/role-id"
      secret_id_file_path = "/etc/agent/secret-id"
    }
  }
}

template_config {
  static_secret_render_interval = "5m"
  exit_on_retry_failure         = true
  max_connections_per_host      = 10
}

env_template "DB_PASSWORD" {
  contents             = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
  error_on_missing_key = true
}

env_template "DB_USER" {
  contents             = "{{ with secret \"secret/data/app\" }}{{ .Data.data.user }}{{ end }}"
  error_on_missing_key = true
}

exec {
  command                   = ["/usr/local/bin/app", "--port", "8080"]
  restart_on_secret_changes = "always"
  restart_stop_signal       = "SIGTERM"
}
