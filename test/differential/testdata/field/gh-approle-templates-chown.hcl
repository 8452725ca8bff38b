
vault {
  address = "https://vault-server:8200"
  tls_skip_verify = true
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "/agent/approle/role-id"
      secret_id_file_path = "/agent/approle/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }
  sink "file" {
    config = {
      path = "/agent/auth_token/token"
    }
  }
}

template {
  source      = "/agent/templates/server.crt.tmpl"
  destination = "/agent/secrets/server.crt"
  command     = "chown app:1000 /agent/secrets/server.crt"
}

template {
  source      = "/agent/templates/server.key.tmpl"
  destination = "/agent/secrets/server.key"
  command     = "chown app:1000 /agent/secrets/server.key"
}

template {
  source      = "/agent/templates/ca.crt.tmpl"
  destination = "/agent/secrets/ca.crt"
  command     = "chown app:1000 /agent/secrets/ca.crt"
}
