vault {
  address = "http://vault:8200"
}

auto_auth {
  method "token_file" {
    config = {
      token_file_path = "/agent/token"
    }
  }
}

listener "tcp" {
  address = "0.0.0.0:8100"
  tls_disable = true
}

template {
  source      = "/templates/queue.tpl"
  destination = "/secrets/queue.env"
}
