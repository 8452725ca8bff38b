auto_auth {
        method "approle" {
                config = {
                    role_id_file_path = "/etc/agent/.role-id"
                    secret_id_file_path = "/etc/agent/.secret-id"
                    remove_secret_id_file_after_reading = false
                }
        }

        sink "file" {
                config = {
                        path = "/var/lib/agent/token"
                }
        }
}
