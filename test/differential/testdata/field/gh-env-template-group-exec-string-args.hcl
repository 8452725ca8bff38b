env_template "APP_DB_USER" {
  contents = "{{ with secret \"secret/db-user\" }}{{ .Data.data.user }}{{ end }}"
  group    = "database_secret"
}

exec {
  command               = "/usr/local/bin/app"
  args                  = ["serve", "--verbose"]
  restart_on_new_secret = "always"
  restart_kill_signal   = "SIGTERM"
}
