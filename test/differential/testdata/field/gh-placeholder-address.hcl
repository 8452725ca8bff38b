pid_file = "./agent.pid"

vault {
    address = "<replace_with_vault_address>"
}

auto_auth {
    method "approle" {
        mount_path = "auth/approle"
        config = {
            role_id_file_path = "<replace_with_role_id_path>"
            secret_id_file_path = "<replace_with_secret_id_path>"
            remove_secret_id_file_after_reading = false
        }
    }


    sink "file" {
        config = {
            path = "./agent-token"
        }
    }
}

cache {
  use_auto_auth_token = true
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

template {
    source = "<replace_with_template_path>"
    destination = "<replace_with_output_path>"
}
