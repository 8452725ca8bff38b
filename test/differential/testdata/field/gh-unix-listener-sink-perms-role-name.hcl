auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "/agent/auth/role-id"
      secret_id_file_path = "/agent/auth/secret-id"
      remove_secret_id_file_after_reading = false
      role_name = "${AGENT_ROLE_NAME}"
    }
  }

  sink "file" {
    perms = 0600 # only the owner reads the token
    config = {
      path = "/agent/token/vault-token"
    }
  }
}

vault {
  address = "https://vault.lab.internal:8200"
  tls_skip_verify = false
  ca_cert = "/agent/certs/lab-ca.pem"
}

listener "unix" {
  address = "/agent/sockets/agent.sock"
  socket_mode = "0600"
  tls_disable = true
}

# secrets file
template {
  source = "/agent/templates/env.tpl"
  destination = "/agent/rendered/.env"
  error_on_missing_key = true
  perms = 0400
}
