# log in once, write the token to the sink, then exit
exit_after_auth = true
pid_file = "./pidfile"

auto_auth {
  method "aws" {
    mount_path = "auth/aws"
    config = {
      type = "iam"
      role = "dev-iam"
    }
  }

  sink "file" {
    # response wrapping
    wrap_ttl = "5m"
    config = {
      path = "/home/ubuntu/agent-token"
    }
  }
}

# caching
cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address                = "127.0.0.1:8200"
  tls_disable            = true
  # against request forgery
  require_request_header = true
}

vault {
  address = "http://10.0.101.50:8200"
}
