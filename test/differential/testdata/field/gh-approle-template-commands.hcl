pid_file = "./agent.pid"

vault {
   address = "http://192.0.2.10:8200"
}

auto_auth {
   method "approle" {
       mount_path = "auth/approle"
       config = {
           role_id_file_path = "roleID"
           secret_id_file_path = "secretID"
           remove_secret_id_file_after_reading = false
       }
   }

   sink "file" {
       config = {
           path = "agentToken"
       }
   }
}

template {
  source      = "./certs.ctmpl"
  destination = "./certs.json"
  command = "bash push-certs.sh"
}

template {
    source = "./inventory.tmpl"
    destination = "./inventory.json"
}
