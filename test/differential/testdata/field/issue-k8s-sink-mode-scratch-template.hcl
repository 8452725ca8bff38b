exit_after_auth = false
pid_file = "/home/vault/pidfile"
auto_auth {
    method "kubernetes" {
        mount_path = "auth/k8s"
        config = {
            role = "app-role"
        }
    }
    sink "file" {
        config = {
            path = "/tmp/agent/.vault-token"
            mode = 0755
        }
    }
}

template {
  destination = "/tmp/secrets/secret.yaml"
  error_on_missing_key = true
  contents = <<EOH
{{ with secret "secret/data/missing" }}{{ range $key, $value := .Data.data }}{{ scratch.MapSet "secrets" $key $value }}{{ end }}{{ end }}{{ scratch.Get "secrets" | toYAML }}
EOH
}
