pid_file = "./agent.pid"

vault {
  address = "http://vault:8200"
}

auto_auth {
  method "kubernetes" {
    mount_path = "auth/kubernetes"

    config = {
      role = "app"
    }
  }

  sink "file" {
    config = {
      path = "/tmp/agent-token"
    }
  }
}

template {
  destination = "/config/db.properties"

  contents = <<EOH
  {{- with secret "database/creds/app-ro" }}
db.user={{ .Data.username }}
db.pass={{ .Data.password }}
  {{ end }}
EOH
}

template {
  destination = "/config/db-check.sh"
  perms       = 0755

  contents = <<EOH
  {{- with secret "database/creds/app-ro" }}
mysql -u{{ .Data.username }} -p{{ .Data.password }} -e 'select 1'
  {{ end }}
EOH
}
