vault {
        address = "https://vault.service.internal:8200"
}

auto_auth {
        method "aws" {
                mount_path = "auth/aws-sub"
                config = {
                        type = "iam"
                        role = "web"
                }
        }

        method "approle" {
            role_id_file_path = "/etc/agent/role"
            secret_id_file_path = "/etc/agent/secret"


        sink "file" {
                config = {
                        path = "/etc/agent/token"
                }
        }
}
