auto_auth {
    method "approle" {
        config = {
            role_id_file_path = "/etc/agent/shared/collector-role_id"
            secret_id_file_path = "/etc/agent/shared/collector-secret_id"
        }
    }

    sink "file" {
        config = {
            path = "/agent/services/collector/env/.env"
        }
    }
}

template {
    source      = "/agent/services/collector/templates/collector.tpl"
    destination = "/agent/services/collector/env/.env"
}

vault {
    address = "http://127.0.0.1:8200"
}
