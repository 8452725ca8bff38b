vault {
  # VAULT_ADDR comes from the container's environment
}

cache {
  use_auto_auth_token = true
}

auto_auth {
  method {
    type = "token_file"
    config = {
      token_file_path = "/agent/token"
    }
  }

  sink {
    type = "file"
    config = {
      path = "/home/vault/.vault-token"
    }
  }

  exit_on_err = true
}

template_config {
  static_secret_render_interval = "5m"
  exit_on_retry_failure = true
}

template {
  source      = "/etc/agent/secrets.ctmpl"
  destination = "/agent/secrets/.env"
  perms       = 0644
}
