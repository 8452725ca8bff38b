pid_file = "C:/agent/agent.pid"

vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "approle" {
    namespace = "admin"
    config = {
      role_id_file_path                   = "C:/agent/role-id"
      secret_id_file_path                 = "C:/agent/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "C:/agent/token"
    }
  }

}

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address     = "127.0.0.1:8100"
  tls_disable = true
}

template {
   source      = "C:/site/one.tmpl"
   destination = "C:/site/one.txt"

}

template {
   source      = "C:/site/two.tmpl"
   destination = "C:/site/two.txt"
}

template {
   source      = "C:/site/two.tmpl"
   destination = "C:/site/three.txt"
}
