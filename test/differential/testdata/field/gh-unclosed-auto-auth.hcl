pid_file = "./agent.pid"

vault {
  address = ""
  retry {
    num_retries = 3
  }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "./role_id"
      secret_id_file_path = "./secret_id"
      remove_secret_id_file_reading = false
    #   secret_id_response_wrapping_path = ""
    }
    namespace = "admin"
  }

  sink "file" {
    config = {
      path = "./agent_token"
      mode = 0644
    }
  }

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

# certificate for the web server
template {
  source      = "/etc/agent/ssl/cert.ctmpl"      # the certificate template
  destination = "/etc/nginx/ssl/cert.pem"        # where nginx reads it

  command = "systemctl reload nginx"             # reload after a change
}

# its key
template {
  source      = "/etc/agent/ssl/key.ctmpl"
  destination = "/etc/nginx/ssl/key.pem"

  command = "systemctl reload nginx"
}
