pid_file = "./agent.pid"

vault {
  address = "https://vault.example.com:8200"
  retry {
    num_retries = 5
  }
}

auto_auth {
  method "aws" {
    mount_path = "auth/aws-subaccount"
    config = {
      type = "iam"
      role = "app"
    }
  }

  sink "file" {
    config = {
      path = "/tmp/token-one"
    }
  }

  sink "file" {
    wrap_ttl = "5m"
    aad_env_var = "AGENT_AAD"
    dh_type = "curve25519"
    dh_path = "/tmp/dh-public"
    config = {
      path = "/tmp/token-two"
    }
  }
}

cache {
  // an empty cache stanza turns caching on
}

api_proxy {
  use_auto_auth_token = true
}

listener "unix" {
  address = "/tmp/agent.sock"
  tls_disable = true

  agent_api {
    enable_quit = true
  }
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

template {
  source = "/etc/agent/server.key.ctmpl"
  destination = "/etc/agent/server.key"
}

template {
  source = "/etc/agent/server.crt.ctmpl"
  destination = "/etc/agent/server.crt"
}
