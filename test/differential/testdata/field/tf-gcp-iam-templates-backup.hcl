exit_after_auth = false
pid_file = "/var/lib/agent/agent.pid"

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
}

vault {
  tls_disable = true
  address     = "https://vault.example.internal:8200"
}
auto_auth {
  method "gcp" {
    config = {
       type="iam"
       role="nodes"
       service_account="nodes@project-a.iam.gserviceaccount.com"
       project="project-a"
    }
  }
  sink {
    type = "file"
    config = {
      path = "/etc/mesh.d/vault_token"
    }
  }
}

template {
  source      = "/etc/mesh.d/cert.tmpl"
  destination = "/etc/mesh.d/cert"
  command     = "sh -c 'systemctl reload mesh && systemctl reload scheduler'"
}
template {
  source      = "/etc/mesh.d/mesh.hcl.tmpl"
  destination = "/etc/mesh.d/mesh.hcl"
  backup      = true
  error_on_missing_key = true
}
