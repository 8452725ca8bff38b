"auto_auth" = {
  "method" = {
    "mount_path" = "auth/k8s"
    "config" = {
      "role" = "api"
    }
    "type" = "kubernetes"
  }

  "sink" = {
    "config" = {
      "path" = "/home/vault/.token"
    }

    "type" = "file"
  }
}

"exit_after_auth" = true
"pid_file" = "/home/vault/.pid"

"vault" = {
  "address" = "https://vault.example.internal"
}

cache {
  use_auto_auth_token = true
  persist "kubernetes" {
    path = "/vault/secrets"
  }
}

"template" = {
  "contents" = <<CONFIG
{
  {{- with secret "db/creds/api" -}}
  "ConnectionStrings": {
      "Default": "server=db.internal;User Id={{ .Data.username }};Password={{ .Data.password }}"
  },
  {{- end }}
}
CONFIG
  "destination" = "/vault/secrets/appsettings.json"
}
