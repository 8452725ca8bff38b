auto_auth {
  method {
    type      = "approle"
    config = {
      role_id_file_path = "/run/secrets/idp_roleid"
      secret_id_file_path = "/run/secrets/idp_secretid"
      secret_id_response_wrapping_path="auth/approle/role/idp/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink {
    type = "file"
    wrap_ttl = "10m"
    config = {
      path = "/agent/local/sink_file.txt"
      mode = 0600
    }
  }
}

template {
  source = "/agent/local/idp.ctmpl"
  destination = "/dev/null"
}

template_config {
  passthrough_request_headers = ["X-Vault-Token"]
}
