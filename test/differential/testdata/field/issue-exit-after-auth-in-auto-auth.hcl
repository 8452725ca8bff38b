vault {
  address = "https://vault.example.com:8200"
}

auto_auth {
  method "kubernetes" {
    config = {
      role = "app"
    }
  }

  sink "file" {
    config = {
      path = "/home/vault/.vault-token"
    }
  }

  exit_after_auth = true
}
