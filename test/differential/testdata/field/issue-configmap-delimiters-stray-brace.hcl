auto_auth {
  method {
    config = {
      role = "uploader"
    }
    type = "kubernetes"
  }
  sink {
    config = {
      path = "/home/vault/.token"
    }
    type = "file"
  }
}
exit_after_auth = true
pid_file = "/home/vault/.pid"
vault {
  address = "https://vault.example.internal:8200"
}
template {
  left_delimiter = "(("
  right_delimiter = "))"
  destination = "/vault/secrets/cloud-credentials"
  contents = <<EOF
(( with secret "cloud/sts/uploader" ))
[default]
access_key_id = (( .Data.access_key ))
secret_access_key = (( .Data.secret_key ))
session_token = (( .Data.security_token ))
(( end ))
EOF
}
}
