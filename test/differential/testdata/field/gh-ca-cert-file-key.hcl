vault {
  # HTTP
  # address = "http://192.0.2.20:8200"
  # or HTTPS
  address = "https://192.0.2.20:8200"
  ca_cert_file = "/etc/agent/ca_chain.pem"
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "/etc/agent/role_id"
      secret_id_file_path = "/etc/agent/secret_id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
      mode = 0600
    }
  }
}

template {
  source      = "/etc/agent/client_cert.tpl"
  destination = "/var/lib/agent/certs/client.pem"
  perms       = "0600"
}
