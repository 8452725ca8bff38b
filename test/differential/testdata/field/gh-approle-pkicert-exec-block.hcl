pid_file        = "/tmp/agent.pid"
#exit_after_auth = true

vault {
  address         = "https://127.0.0.1:8200"
  tls_skip_verify = true
}

auto_auth {

  method {
    type = "approle"
    config = {
      role_id_file_path                   = "/tmp/role-id"
      secret_id_file_path                 = "/tmp/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink {
    type = "file"
    config = {
      path = "/tmp/agent-token"
    }
  }

}

template {
    destination = "service.crt"
    contents = <<EOF2
{{- with file "service.csr" -}}
  {{- with pkiCert "pki/sign/example" (print "csr=" .) "ttl=10m" -}}
    {{- .Cert -}}
  {{- end -}}
{{- end -}}
EOF2
    exec {
      command = "openssl req -new -newkey rsa:2048 -nodes -keyout service.key -subj '/CN=svc.example.com' -out service.csr"
    }
}
