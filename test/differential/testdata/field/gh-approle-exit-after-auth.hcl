vault {
  address = "http://127.0.0.1:8200"
}

# log in once, leave the token for a script, stop
exit_after_auth = true

auto_auth {
  method "approle" {
    config = {
      role_id_file_path                   = ".agent/role_id"
      secret_id_file_path                 = ".agent/secret_id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = ".agent/token"
      mode = 0600
    }
  }
}
