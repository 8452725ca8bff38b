pid_file = "/var/run/agent.pid"

auto_auth {
  method "aws" {
    type = "iam"
    mount_path = "auth/aws"
    config = {
      role = "${AGENT_ROLE:-deploy}"
    }
  }

  sink "file" {
    config = { path = "/etc/agent/agent_token" }
  }
}

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address = "127.0.0.1:8201"
  tls_disable = true
}

template {
  source = "/etc/agent/templates/deploy.env.tpl"
  destination = "/opt/runner/.env.deploy"
  command = "/bin/chmod 600 /opt/runner/.env.deploy"
  perms = "0600"
}
