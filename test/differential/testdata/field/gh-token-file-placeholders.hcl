vault {
  address = "" # VAULT_ADDR from the environment
}

auto_auth {
  method "token_file" {
    config = {
      token_file_path = "__TOKEN_PATH__"
    }
  }
}

template {
  source               = "__ROOT__/tpl/app.env.ctmpl"
  destination          = "__ROOT__/.env"
  perms                = 0600
  error_on_missing_key = true
}
