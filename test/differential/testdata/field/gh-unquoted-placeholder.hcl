exit_after_auth = AGENT_EXIT_AFTER_AUTH
pid_file        = "./agent.pid"

auto_auth {
  method "aws" {
    mount_path = "auth/aws"
    config = {
      type = "iam"
      role = "APP_ROLE"
    }
  }

  sink "file" {
    config = {
      path = "/tmp/agent-token"
    }
  }
}

listener "tcp" {
  address = "0.0.0.0:8200"
  tls_disable = true
}

template {
  source      = "/agent/SOURCE_NAME"
  destination = "/config/TARGET_NAME"
}
