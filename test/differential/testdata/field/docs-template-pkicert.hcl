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

  sink "file" {
    config = {
      path = "/etc/agent/token"
    }
  }
}

template_config {
  exit_on_retry_failure = true
  lease_renewal_threshold = 0.8
}

template {
  contents    = "{{ with pkiCert \"pki/issue/web\" \"common_name=web.example.com\" }}{{ .Cert }}{{ .CA }}{{ .Key }}{{ end }}"
  destination = "/etc/ssl/web.pem"
  perms       = "0600"
  command     = "systemctl reload nginx"
  command_timeout = "30s"
}
