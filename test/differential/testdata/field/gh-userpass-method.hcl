pid_file = "/run/agent/agent.pid"

auto_auth {
  method "userpass" {
    mount_path = "auth/userpass"
    config = {
      username = "svc"
      password_file = "/etc/agent/password.txt"
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/.vault-token"
    }
  }
}

vault {
  address = "http://vault:8200"
}

cache {
  use_auto_auth_token = true
}
