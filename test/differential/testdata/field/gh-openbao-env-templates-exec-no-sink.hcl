vault {
  address = "https://127.0.0.1:8200"
  ca_cert = "/etc/app/bao-ca.crt"
}
auto_auth {
  method "approle" {
    config = {
      role_id_file_path = "/run/credentials/app.service/role-id"
      secret_id_file_path = "/run/credentials/app.service/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }
}
template_config {
  static_secret_render_interval = "1m"
  exit_on_retry_failure = true
}
exec {
  command = ["/usr/local/bin/node", "/home/app/current/dist/main.js"]
  restart_on_secret_changes = "always"
  restart_stop_signal = "SIGTERM"
}
env_template "NODE_ENV" {
  contents = "{{ with secret \"secret/data/app/production\" }}{{ .Data.data.NODE_ENV }}{{ end }}"
  error_on_missing_key = true
}
env_template "PORT" {
  contents = "{{ with secret \"secret/data/app/production\" }}{{ .Data.data.PORT }}{{ end }}"
  error_on_missing_key = true
}
