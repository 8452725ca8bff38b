auto_auth {
  method "ldap" {
    mount_path = "auth/ldap"
    config = {
      username = "svc-app"
      password_file_path = "/etc/agent/ldap-password"
      remove_password_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
    }
  }
}

vault {
  address = "https://vault.example.com:8200"
}
