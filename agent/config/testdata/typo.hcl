vault {
  adress = "http://127.0.0.1:8200"
}

auto_auth {
  method "approle" {
    min_backoff = "soon"
    config = {
      role_id_file_path = "/etc/rotor/role_id"
      secret_id_fil_path = "/etc/rotor/secret_id"
    }
  }
  sink "file" {
    config = {
      path = "/tmp/token"
      mode = "0999"
    }
  }
}
