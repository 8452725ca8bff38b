auto_auth {

  method {
    type = "token_file"

    config {
      token_file_path = "$HOME/.vault-token"
    }
  }
}

vault {
  address = "http://localhost:8200"
}

env_template "APP_LOCK" {
  contents             = "{{ with secret \"secret/data/app\" }}{{ .Data.data.lock }}{{ end }}"
  error_on_missing_key = false
}
env_template "APP_PASSWORD" {
  contents             = "{{ with secret \"secret/data/app\" }}{{ .Data.data.password }}{{ end }}"
  error_on_missing_key = false
}

exec {
  command               = "env"
  args                  = []
  restart_on_new_secret = "always"
  #  restart_kill_signal   = "SIGTERM"
}
