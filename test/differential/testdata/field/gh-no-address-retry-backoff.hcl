# agent config
vault {
  ca_cert = "/etc/agent/ca.crt"
  retry {
    num_retries = 5
    backoff = "30s"
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/etc/agent/role_id"
      secret_id_file_path = "/etc/agent/secret_id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "/etc/agent/token"
      mode = 0600
    }
  }
}

template {
  source      = "/etc/agent/templates/secrets.tpl"
  destination = "/etc/agent/secrets/.env"
  perms       = 0644
  command     = "touch /etc/agent/.secret-trigger"
}

# certificates
template {
  source      = "/etc/agent/templates/server-cert.tpl"
  destination = "/etc/agent/certs/server.crt"
  perms       = 0644
  command     = "touch /etc/agent/.cert-trigger"
}

template {
  source      = "/etc/agent/templates/server-key.tpl"
  destination = "/etc/agent/certs/server.key"
  perms       = 0600
  command     = "touch /etc/agent/.cert-trigger"
}

log_level = "info"
