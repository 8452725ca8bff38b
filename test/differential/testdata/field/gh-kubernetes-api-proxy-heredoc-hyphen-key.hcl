pid_file = "/home/vault/pidfile"

auto_auth {
    method "kubernetes" {
        mount_path = "auth/cluster-b"
        config = {
            role = "reporter"
            token_path = "/var/run/secrets/tokens/vault-token"
        }
    }
    sink "file" {
        config = {
            path = "/home/vault/.vault-token"
        }
    }
}

api_proxy {
    use_auto_auth_token = "force"
    enforce_consistency = "always"
}

listener "tcp" {
    address = "127.0.0.1:8100"
    tls_disable = true
}

# client certificate
template {
    destination = "/secrets/tracker-cert.pem"
    contents = <<EOT
{{ with secret "secret/data/tracker/bot" -}}
{{ .Data.data.cert_pem }}
{{- end }}
EOT
    perms = "0600"
}

# environment
template {
    destination = "/secrets/reporter-env"
    contents = <<EOT
{{ with secret "secret/data/reporter/db" -}}
export DB_HOST={{ .Data.data.host }}
export DB_PASSWORD={{ .Data.data.password }}
{{- end }}

{{ with secret "secret/data/reporter/components" -}}
export HOSTS="{{ .Data.data.dedicated-host }}"
{{ end }}
EOT
    perms = "0600"
}
