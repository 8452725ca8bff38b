exit_after_auth = true
pid_file = "/tmp/agent.pid"

vault {
  # the test environment's server
  address = "http://vault-test:8200"
}

auto_auth {
  method "approle" {
    # role and secret IDs come from Docker secrets
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/run/secrets/app_role_id"
      secret_id_file_path = "/run/secrets/app_secret_id"
      remove_secret_id_file_after_read = true
    }
  }

  sink "file" {
    config = {
      path = "/tmp/agent-token"
    }
  }
}

template {
  source      = "/app/templates/db_password.ctmpl"
  destination = "/agent/secrets/db_password.txt"
  perms       = "0400"
}
