vault {
    address = "http://127.0.0.1:8200"
}
auto_auth {
    method "approle" {
        mount_path = "auth/approle"
        config     = {
            role_id_file_path                   = "/tmp/registry-role-id"
            secret_id_file_path                 = "/tmp/registry-secret-id"
            remove_secret_id_file_after_reading = "false"
            secrets = {
                "registry.internal:5000" = "secret/registry/creds"
            }
        }
    }
    sink "file" {
        config = {
            path = "/tmp/registry-token"
        }
    }
}
