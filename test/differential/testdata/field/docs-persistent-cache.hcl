pid_file = "/home/vault/.pid"
exit_after_auth = false

vault {
  address = "https://vault.vault.svc:8200"
}

auto_auth {
  method "kubernetes" {
    mount_path = "auth/kubernetes"
    config = {
      role = "app"
    }
  }

  sink "file" {
    config = {
      path = "/home/vault/.vault-token"
    }
  }
}

cache {
  use_auto_auth_token = true

  persist "kubernetes" {
    path = "/vault/agent-cache/"
    keep_after_import = true
    exit_on_err = true
  }
}

listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
}
