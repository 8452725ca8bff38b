vault {
  address = "https://vault.apps.svc:8200"
  ca_cert = "/var/run/secrets/kubernetes.io/serviceaccount/service-ca.crt"
}

auto_auth {
  method "kubernetes" {
    config = {
      role = "reports"
    }
  }

  sink "file" {
    config = {
      path = "/appconfig/vault_token"
    }
  }
}

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}

template {
  source      = "/agentconfig/secret.tmpl"
  destination = "/appconfig/secret.json"
}
