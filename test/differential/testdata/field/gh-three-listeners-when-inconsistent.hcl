vault {
  address = "http://vault.service.internal:8200"
}

auto_auth {
  method {
    type = "approle"

    config = {
      role_id_file_path = "/etc/agent/role-id.txt"
      secret_id_file_path = "/etc/agent/secret-id.txt"
      remove_secret_id_file_after_reading = true
    }
  }

  sink {
    type = "file"
    config = {
      path = "/var/run/agent/.vault-token"
      mode = 0600
    }
  }
}

cache {
  use_auto_auth_token = true
  when_inconsistent = "retry"
}

listener "unix" {
  address = "/var/run/agent/agent.sock"
  tls_disable = true
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

listener "tcp" {
  address = "0.0.0.0:8100"
  tls_disable = true
}

# ssh key
template {
  source = "/etc/agent/templates/ssh-key.tpl"
  destination = "/home/runner/.ssh/id_ed25519"
  command = "systemctl reload deployer"
  error_on_missing_key = false
}

# cloud credentials
template {
  source = "/etc/agent/templates/cloud-creds.tpl"
  destination = "/var/run/secrets/cloud-credentials.env"
  command = "systemctl reload deployer"
  error_on_missing_key = false
}
