pid_file = "/agent.pid"

exit_after_auth = true

auto_auth {
  method {
    type = "token_file"
    config = {
      token_file_path = "/etc/agent/.vault-token"
    }
  }

  sink  {
    type = "file"
    config = {
      path = "/etc/agent/token"
      remove_after_use = true
    }
  }
}

api_proxy {
  use_auto_auth_token = true
}

# application configs

template {
  source      = "/etc/agent/appconfigs.ctmpl"
  destination = "/home/app/appconfigs.json"
  error_on_missing_key = true
}

listener "tcp" {
  address     = "127.0.0.1:8100"
  tls_disable = true
}
