pid_file = "./out/agent.pid"

vault {
        address = "https://127.0.0.1:8200"
        ca_cert = "./certs/ca.pem"
        client_cert = "./certs/client.pem"
        client_key = "./certs/client-key.pem"
}

auto_auth {
        method "cert" {
        }

  sink {
    type = "file"

    config = {
      path = "./out/token"
    }
  }

}

template {
  source      = "./app.ctmpl"
  destination = "./out/app.conf"
}
