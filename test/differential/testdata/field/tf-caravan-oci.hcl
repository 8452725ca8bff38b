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
  address     = "http://vault.example.internal:8200"
}

template {
  source      = "/etc/consul.d/keyfile.tmpl"
  destination = "/etc/consul.d/keyfile"
}

template {
  source      = "/etc/consul.d/cert.tmpl"
  destination = "/etc/consul.d/cert"
  #command     = "sh -c 'systemctl reload consul'"
}

template {
  source      = "/etc/nomad.d/nomad.hcl.tmpl"
  destination = "/etc/nomad.d/nomad.hcl"
}
  auto_auth {
  method "oci" {
    config = {
       auth_type="instance_principal"
       role="node-role"
    }
  }
  sink {
    type = "file"
    config = {
      path = "/etc/consul.d/agent_token"
    }
  }
}
