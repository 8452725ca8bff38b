vault {
   ## the server
   address = "vault:8200"
   tls_skip_verify = true
}

auto_auth {
  method "approle" {
    config = {
      ## role ID file
      role_id_file_path = "role_id_file"
      ## secret ID file (a wrapping token)
      secret_id_file_path = "secret_id_file-scraper"
      ## where the secret ID was wrapped
      secret_id_response_wrapping_path = auth/approle/role/scraper/secret-id
    }
  }

  sink "file" {
    config = {
      path = "/tmp/agent-token"
    }
  }
}
