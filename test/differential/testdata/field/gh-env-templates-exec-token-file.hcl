
auto_auth {

  method {
    type = "token_file"

    config {
      token_file_path = "/home/dev/.vault-token"
    }
  }
}

template_config {
  static_secret_render_interval = "5s"
  exit_on_retry_failure         = true
}

vault {
  address = "http://localhost:8200"
}

env_template "DB_PASSWORD" {
  contents             = "{{ with secret \"secret/data/app/db\" }}{{ .Data.data.password }}{{ end }}"
  error_on_missing_key = true
}
env_template "DB_USER" {
  contents             = "{{ with secret \"secret/data/app/db\" }}{{ .Data.data.user }}{{ end }}"
  error_on_missing_key = true
}
env_template "API_KEY" {
  contents             = "{{ with secret \"secret/data/app/api\" }}{{ .Data.data.key }}{{ end }}"
  error_on_missing_key = true
}

exec {
  command                   = ["./app.sh"]
  restart_on_secret_changes = "always"
  restart_stop_signal       = "SIGTERM"
}
