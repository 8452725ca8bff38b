pid_file = "./pidfile"

vault {
        address = "https://127.0.0.1:8200"
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

unknown_block {
  something = true
  other = "value"
}

cache {
}
