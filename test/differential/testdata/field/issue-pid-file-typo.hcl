pi_file = "/run/agent/agent.pid"

vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "token_file" {
    config = {
      token_file_path = "/etc/agent/token"
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}
