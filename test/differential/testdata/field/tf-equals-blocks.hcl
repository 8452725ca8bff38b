auto_auth = {
  method "kubernetes" {
    mount_path = "auth/k8s-cluster"
    config = {
      role = "mcm"
    }
  }

  sink = {
    config = {
        path = "/home/vault/.token"
    }

    type = "file"
  }
}

exit_after_auth = true
pid_file = "/home/vault/.pid"


vault = {
  address = "https://vault.example.internal:8200"
}
