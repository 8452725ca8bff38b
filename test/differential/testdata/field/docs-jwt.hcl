pid_file = "/run/agent/agent.pid"

auto_auth {
  method "jwt" {
    config = {
      path = "/var/run/secrets/tokens/agent-jwt"
      role = "app"
      remove_jwt_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}

vault {
  address = "https://vault.example.com:8200"
}
