pid_file = "./agent.pid"

vault {
  address = "http://127.0.0.1:8200"
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    // the secret ID file holds a wrapping token
      config = {
        role_id_file_path = "/home/app/agent/role_id"
        secret_id_file_path = "/home/app/agent/wrapped_secret_id"
        remove_secret_id_file_after_reading = true
        secret_id_response_wrapping_path = "auth/approle/role/agent/secret-id"
    }
    namespace = "admin"
  }

  sink "file" {
    config = {
      path = "/home/app/agent/token"
      mode = 0644
      }
    }
}

listener "tcp" {
  address = "127.0.0.1:8007"
  tls_disable = true
}

cache {
  use_auto_auth_token = true
}
