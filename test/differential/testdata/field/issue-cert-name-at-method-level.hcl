vault {
  tls_disable = false
  address = "https://active.vault.service.internal:8200"
  client_key  = "/etc/pki/tls/certs/node.key"
  client_cert = "/etc/pki/tls/certs/node.pem"
  ca_cert = "/etc/pki/ca-trust/source/anchors/CA.pem"

}
pid_file = "/var/agent/.pidfile"
exit_after_auth = false
log_level = "trace"
auto_auth {
  method "cert" {
  name = "node5"
  mount_path = "auth/cert/certs/node5"
  }

  sink "file" {
    config = {
      path = "/var/agent/token"
    }
  }
}
