pid_file = "/run/agent/agent.pid"

listener "tcp" {
  address     = "127.0.0.1:8100"
  tls_disable = true
}

template_config {
  static_secret_render_interval = "3m"
  exit_on_retry_failure         = true
  max_connections_per_host      = 8
}

vault {
  address = "http://vault.example.internal:8200"
  token   = "example-dev-token"
  retry {
    num_retries = 4
  }
}

env_template "APP_API_KEY" {
  contents             = "{{ with secret \"kv/app\" }}{{ .Data.api-key }}{{ end }}"
  error_on_missing_key = true
}

exec {
  command                   = ["/usr/local/bin/app", "--serve"]
  restart_on_secret_changes = "always"
  restart_stop_signal       = "SIGTERM"
}
